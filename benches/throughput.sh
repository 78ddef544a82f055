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
# medians over the rounds and sonority's ratios to the floor and to bliss-rs, in wall time and
# in CPU time (user + system: steadier than wall time on a shared machine). With BASE_INDEX set
# to another build's `sonority` binary (an earlier commit, say), each round also runs it on one
# thread, for an A/B comparison in the same run; with MODEL_B set to a model directory (or
# several, separated by colons), each round also runs this build with `--model` on each, one
# thread (a model with more blocks, say v4's `artist`, against the shipped default). Run it on
# an idle machine; nothing here is asserted.
set -euo pipefail
dir=${1:?usage: throughput.sh DIR [ROUNDS]}
rounds=${2:-3}
root="$(cd "$(dirname "$0")/.." && pwd)"
floor=${DECODE_FLOOR:?set DECODE_FLOOR to the decode-floor binary}
bliss=${BLISS_ANCHOR:-}
index="$root/target/release/sonority"
if [ ! -x "$index" ] || [ -n "${REBUILD:-}" ]; then
  (cd "$root" && cargo build --release -p sonority-cli)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RAYON_NUM_THREADS=1

# run NAME CMD...: appends "NAME wall_s peak_kb cpu_s" to $work/runs.
run() {
  local name=$1
  shift
  /usr/bin/time -f '%e %M %U %S' -o "$work/t" "$@" >"$work/out" 2>"$work/err" || {
    echo "$name failed:" >&2
    tail -5 "$work/err" >&2
    exit 1
  }
  read -r secs kb user sys <"$work/t"
  cpu=$(echo "$user + $sys" | bc -l)
  echo "$name $secs $kb $cpu" >>"$work/runs"
  printf '%-26s %7.2f s wall %7.2f s CPU %5.0f MB\n' "$name" "$secs" "$cpu" "$(echo "$kb / 1024" | bc -l)"
}

for r in $(seq 1 "$rounds"); do
  echo "== round $r"
  run decode-floor "$floor" "$dir"
  rm -f "$work/lib.sqlite"*
  run "sonority-1-thread" "$index" index "$dir" --db "$work/lib.sqlite" --threads 1
  if [ -n "${BASE_INDEX:-}" ]; then
    rm -f "$work/lib.sqlite"*
    run "base-1-thread" "$BASE_INDEX" index "$dir" --db "$work/lib.sqlite" --threads 1
  fi
  if [ -n "${MODEL_B:-}" ]; then
    k=0
    IFS=: read -r -a models_b <<<"$MODEL_B"
    for m in "${models_b[@]}"; do
      k=$((k + 1))
      name="model-b-1-thread"
      [ "$k" -gt 1 ] && name="model-b$k-1-thread"
      rm -f "$work/lib.sqlite"*
      run "$name" "$index" index "$dir" --db "$work/lib.sqlite" --threads 1 --model "$m"
    done
  fi
  rm -f "$work/lib.sqlite"*
  RAYON_NUM_THREADS=2 run "sonority-2-threads" "$index" index "$dir" --db "$work/lib.sqlite" --threads 2
  if [ -n "$bliss" ]; then
    run bliss-anchor "$bliss" "$dir"
  fi
done

echo "== medians over $rounds round(s)"
python3 - "$work/runs" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, secs, kb, cpu = line.split()
    runs.setdefault(name, []).append((float(secs), int(kb), float(cpu)))
med = {
    n: (
        statistics.median(r[0] for r in v),
        max(r[1] for r in v) / 1024,
        statistics.median(r[2] for r in v),
    )
    for n, v in runs.items()
}
for n, (s, mb, cpu) in med.items():
    print(f"{n:26} {s:7.2f} s wall {cpu:7.2f} s CPU  peak {mb:5.0f} MB")
def ratio(a, b, what):
    print(f"{what}: {med[a][0] / med[b][0]:.2f}x wall, {med[a][2] / med[b][2]:.2f}x CPU")
ratio("sonority-1-thread", "decode-floor", "sonority 1 thread / decode floor")
if "base-1-thread" in med:
    ratio("base-1-thread", "decode-floor", "base 1 thread / decode floor")
    ratio("base-1-thread", "sonority-1-thread", "base / sonority, 1 thread each")
for n in sorted(k for k in med if k.startswith("model-b")):
    label = n[len("model-"):-len("-1-thread")].replace("b", "B", 1)
    ratio(n, "decode-floor", f"model {label} 1 thread / decode floor")
    ratio(n, "sonority-1-thread", f"model {label} / default model, 1 thread each")
print(f"sonority 2-thread scaling: {med['sonority-1-thread'][0] / med['sonority-2-threads'][0]:.2f}x wall")
if "bliss-anchor" in med:
    ratio("bliss-anchor", "sonority-1-thread", "bliss-rs / sonority, 1 thread each")
EOF
