#!/usr/bin/env bash
# Writes seed inputs for the fuzz targets from a model directory and a few audio files.
# Usage: fuzz/seed_corpus.sh [MODEL_DIR] [AUDIO_DIR]   (defaults: models/default, ../shared/badinput)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
model=${1:-$here/../models/default}
audio=${2:-}
mkdir -p "$here/corpus/model_load" "$here/corpus/decode"
i=0
for part in model.json tile.json tile.safetensors fusion.json; do
  { printf "\\x$(printf %02x $i)"; cat "$model/$part"; } > "$here/corpus/model_load/seed_$part"
  i=$((i + 1))
done
exts=(wav mp3 flac ogg m4a aiff caf mka webm bin)
if [ -n "$audio" ]; then
  for f in "$audio"/*; do
    [ -f "$f" ] && [ -r "$f" ] || continue
    [ "$(stat -c %s "$f")" -le 300000 ] || continue
    ext=${f##*.}; ext=${ext,,}; sel=9
    for k in "${!exts[@]}"; do [ "${exts[$k]}" = "$ext" ] && sel=$k; done
    { printf "\\x$(printf %02x $sel)"; cat "$f"; } > "$here/corpus/decode/seed_$(basename "$f" | tr -c 'A-Za-z0-9._-' _)"
  done
fi
echo "seeds: $(ls "$here/corpus/model_load" | wc -l) model parts, $(ls "$here/corpus/decode" | wc -l) audio files"
