#!/usr/bin/env bash
# lib_vs_exe.sh: batch-1 latency of a model called through its library
# (kiln_run, bench/lib_latency.c, wall clock around each call) against the
# same model's executable (--bench), alternating A/B and keeping each side's
# best median, as the machine is shared.
#
#   bench/lib_vs_exe.sh [MODEL (default resnet50)] [ROUNDS (5)] [RUNS (50)] [THREADS (0: all)]
#
# Builds both with the build's kiln into $TMPDIR and prints every round and
# the best medians with their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-resnet50}
rounds=${2:-5}
runs=${3:-50}
threads=${4:-0}
kiln=${KILN:-build/bin/kiln}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$kiln" compile "models/$model.yaml" --target cpu --quiet -o "$dir/exe" 2>/dev/null
"$kiln" compile "models/$model.yaml" --target cpu --quiet --emit=lib -o "$dir/lib$model.so" 2>/dev/null
${CC:-cc} -O2 -I runtime/include bench/lib_latency.c -ldl -o "$dir/lib_latency"
thread_args=()
[[ $threads -gt 0 ]] && thread_args=(--threads "$threads")
best_exe=1e9
best_lib=1e9
median() { sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'; }
for ((r = 1; r <= rounds; ++r)); do
  e=$("$dir/exe" --bench "$runs" --quiet "${thread_args[@]}" 2>/dev/null)
  l=$("$dir/lib_latency" "$dir/lib$model.so" --runs "$runs" --device cpu "${thread_args[@]}")
  echo "round $r: exe: $e"
  echo "round $r: lib: $l"
  best_exe=$(echo "$e" | median | awk -v b="$best_exe" '{print ($1 < b) ? $1 : b}')
  best_lib=$(echo "$l" | median | awk -v b="$best_lib" '{print ($1 < b) ? $1 : b}')
done
awk -v e="$best_exe" -v l="$best_lib" 'BEGIN {
  printf "best medians: executable --bench %.3f ms, library kiln_run %.3f ms: library / executable = %.4f\n", e, l, l / e }'
