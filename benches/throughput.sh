#!/usr/bin/env bash
# Analysis throughput against the decode floor and bliss-rs, side by side in one run.
#
#   bash benches/throughput.sh DIR [ROUNDS]
#
# DIR holds a corpus with DIR/manifest.tsv (for example the dev albums of
# ../shared/corpus/fetch-dev-corpus.sh). The two peers are the tools of ../shared/tools, built
# outside this workspace (bliss-rs is GPL-3.0: only ever a separate program):
#
#   cp -r ../shared/tools /tmp/tools
#   (cd /tmp/tools/decode-floor && cargo build --release)
#   (cd /tmp/tools/bliss-anchor && cargo build --release)
#   DECODE_FLOOR=/tmp/tools/decode-floor/target/release/decode-floor \
#   BLISS_ANCHOR=/tmp/tools/bliss-anchor/target/release/bliss-anchor \
#   bash benches/throughput.sh DIR
#
# Each round runs, one after the other: symphonia decoding alone (decode-floor), sonority's
# `index --threads 1` and `--threads 2` into a fresh SQLite file, and bliss-anchor (skipped when
# BLISS_ANCHOR is unset). It prints every run's wall time and peak RSS (/usr/bin/time), then the
# medians over the rounds and sonority's ratios to the floor and to bliss-rs. Run it on an idle
# machine; nothing here is asserted.
set -euo pipefail
dir=${1:?usage: throughput.sh DIR [ROUNDS]}
rounds=${2:-3}
root="$(cd "$(dirname "$0")/.." && pwd)"
floor=${DECODE_FLOOR:?set DECODE_FLOOR to the decode-floor binary}
bliss=${BLISS_ANCHOR:-}
index="$root/target/release/examples/index"
if [ ! -x "$index" ] || [ -n "${REBUILD:-}" ]; then
  (cd "$root" && cargo build --release --example index)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RAYON_NUM_THREADS=1

# run NAME CMD...: appends "NAME seconds peak_kb" to $work/runs.
run() {
  local name=$1
  shift
  /usr/bin/time -f '%e %M' -o "$work/t" "$@" >"$work/out" 2>"$work/err" || {
    echo "$name failed:" >&2
    tail -5 "$work/err" >&2
    exit 1
  }
  read -r secs kb <"$work/t"
  echo "$name $secs $kb" >>"$work/runs"
  printf '%-26s %7.2f s %7.0f MB\n' "$name" "$secs" "$(echo "$kb / 1024" | bc -l)"
}

for r in $(seq 1 "$rounds"); do
  echo "== round $r"
  run decode-floor "$floor" "$dir"
  rm -f "$work/lib.sqlite"*
  run "sonority-1-thread" "$index" "$dir" --db "$work/lib.sqlite" --threads 1
  rm -f "$work/lib.sqlite"*
  RAYON_NUM_THREADS=2 run "sonority-2-threads" "$index" "$dir" --db "$work/lib.sqlite" --threads 2
  if [ -n "$bliss" ]; then
    run bliss-anchor "$bliss" "$dir"
  fi
done

echo "== medians over $rounds round(s)"
python3 - "$work/runs" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, secs, kb = line.split()
    runs.setdefault(name, []).append((float(secs), int(kb)))
med = {n: (statistics.median(s for s, _ in v), max(k for _, k in v) / 1024) for n, v in runs.items()}
for n, (s, mb) in med.items():
    print(f"{n:26} {s:7.2f} s  peak {mb:5.0f} MB")
floor = med["decode-floor"][0]
one = med["sonority-1-thread"][0]
two = med["sonority-2-threads"][0]
print(f"sonority 1 thread / decode floor: {one / floor:.2f}x")
print(f"sonority 2-thread scaling: {one / two:.2f}x")
if "bliss-anchor" in med:
    print(f"bliss-rs / sonority, 1 thread each: {med['bliss-anchor'][0] / one:.2f}x")
EOF
