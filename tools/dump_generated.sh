#!/usr/bin/env bash
# dump_generated.sh KILN OUTDIR: writes the generated C++ and CUDA C++ of
# every model in models/ under the configurations that steer the emitters
# (each precision, no fusion, batch 32, one unit, CUDA only), one file
# each, so that a refactoring of the target layer can be checked to leave
# the generated code unchanged: run it before and after, then diff -r.
set -euo pipefail
kiln=$1 out=$2
cd "$(dirname "$0")/.."
mkdir -p "$out"
configs=(
  "fp32:--target all --precision fp32 --jobs 2"
  "tf32:--target all --precision tf32 --jobs 2"
  "fp16:--target all --precision fp16 --jobs 2"
  "bf16:--target all --precision bf16 --jobs 2"
  "nofusion:--target all --precision fp16 --no-fusion --jobs 2"
  "b32:--target all --precision fp16 --batch 32 --jobs 2"
  "jobs1:--target cpu --jobs 1"
  "cuda:--target cuda --precision bf16 --jobs 2"
)
for model in models/*.yaml; do
  name=$(basename "$model" .yaml)
  for config in "${configs[@]}"; do
    tag=${config%%:*} flags=${config#*:}
    # shellcheck disable=SC2086
    "$kiln" compile "$model" $flags --emit=source \
      -o "$out/$name.$tag.txt" 2> "$out/$name.$tag.err" ||
      echo "exit status $?" >> "$out/$name.$tag.err" # a failure is part of the output
  done
done
