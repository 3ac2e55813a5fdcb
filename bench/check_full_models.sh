#!/usr/bin/env bash
# bench/check_full_models.sh: every model of models/ at full size (224x224
# for the ImageNet models) against PyTorch, with PyTorch-exported weights.
# Not part of the default test suite: it needs python3-torch
# (./setup.sh --with-torch), several GB of disk and ~10 minutes.
#
#   bench/check_full_models.sh [BUILD_DIR] [MODEL...]
#
# For each model: tools/export_full_weights.py writes seeded weights, an
# input and PyTorch's float64 output; kiln compiles the model with those
# weights embedded, runs it, and the relative L2 error must be <= 1e-5.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
shift || true
models=("$@")
if ((${#models[@]} == 0)); then
  models=($(cd "$root/models" && ls *.yaml | sed 's/\.yaml$//'))
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
for m in "${models[@]}"; do
  /usr/bin/python3 "$root/tools/export_full_weights.py" "$m" "$work/$m" > /dev/null
  "$build/bin/kiln" compile "$root/models/$m.yaml" --target cpu --weights "$work/$m/weights.safetensors" \
    -o "$work/$m/exe"
  "$work/$m/exe" --input "$work/$m/input.npy" --output "$work/$m/y.npy"
  result=$(/usr/bin/python3 "$root/tools/compare_npy.py" "$work/$m/y.npy" "$work/$m/output.npy" \
    --rel-l2 1e-5 | grep -E "rel_l2|FAIL" | tr '\n' ' ') || status=1
  printf '%-20s %s\n' "$m" "$result"
  rm -rf "${work:?}/$m"
done
exit $status
