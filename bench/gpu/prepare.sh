#!/usr/bin/env bash
# bench/gpu/prepare.sh: compiles the executables of the device check (issue 13;
# bench/gpu/run.py) on the BUILD machine, for a GPU machine that has no
# LLVM/MLIR, no kiln and no nvcc.
#
# End to end:
#   1. here (build machine, with nvcc in /usr/local/cuda):   ./setup.sh
#        bench/gpu/prepare.sh out/gpu                   (2 cores: see the timing
#                                                        it prints at the end)
#   2. make out/gpu travel with the working tree: out/ is in .gitignore, so name
#      `out/gpu` in the device tool's `carry`. Carried paths and the working
#      tree together stay under 64 MiB, hence xz and the size check below
#      (--max-mib, default 56).
#   3. there, one command (GPU machine: NVIDIA driver, python3 with torch):
#        PYTHONUNBUFFERED=1 python3 bench/gpu/run.py out/gpu --out $OUT --budget 480
#      The executables need no CUDA toolkit there: cudart is linked statically,
#      only the driver (libcuda.so) is loaded at run time.
#
# What one run needs (the default): the correctness set, every model at batch
# 2 in fp32 and fp16 (tf32 and bf16 too for resnet50 and ghostnet), which also
# serves compute-sanitizer (cnn); the timing set, resnet50 and ghostnet at
# batch 1, 32 and 256 in fp16, bf16, tf32 and fp32, which also serves the
# profile (resnet50 fp16 batch 256).
#
# Usage: bench/gpu/prepare.sh [OUTDIR] [options]        (OUTDIR default: out/gpu)
#   --models a,b        correctness models (default: every models/*.yaml)
#   --bench-models a,b  timing models (default resnet50,ghostnet)
#   --quick             resnet50 and ghostnet only (correctness and timing)
#   --only-check        correctness executables only (no timing set)
#   --only-bench        timing executables only
#   --bench-batches L   timing batches (default 1,32,256)
#   --precisions L      timing precisions (default fp16,bf16,tf32,fp32)
#   --check-batch N     batch of the correctness executables (default 2)
#   --kiln PATH         the compiler (default: build/bin/kiln)
#   --cpu ARCH          -march of the executables' CPU code (default x86-64-v3:
#                       AVX2+FMA, runs on any H100/H200 host; the kiln default,
#                       'native', would be this build machine's CPU)
#   --cuda-arch L       passed as kiln's --cuda-arch (default: none, so the
#                       executables are the ones users get: sm_80 and sm_90a
#                       SASS and compute_80 PTX, the wgmma/TMA variant picked on
#                       an H100/H200 at start-up; e.g. sm_90a for Hopper alone)
#   --emulated          testing without a GPU: `--target all-emulated`, the CUDA
#                       code runs on kiln's SIMT emulator (run.py --allow-cpu),
#                       which presents an H100 (KILN_EMU_CC picks another GPU)
#   --cpu-only          testing without CUDA: `--target cpu`, fp32 only
#   --max-mib N         fail when the packed executables exceed N MiB (56)
#   -j N                compile N executables at once (default 2)
#
# Writes OUTDIR/bundle.tar.xz holding MODEL-PRECISION-bBATCH (stripped
# executables, no embedded weights: they generate seeded weights at start-up,
# and `EXE --dump-weights W.safetensors` writes them with PyTorch state_dict
# names; run.py unpacks them), OUTDIR/manifest.json
# ({"executables": [{file, model, precision, batch, purpose, target}], ...}) and
# OUTDIR/logs/ (one compile log per executable); the executables, logs and JSON
# files of an earlier run in OUTDIR are removed first. Exits non-zero, naming what
# failed, when any compile fails or the total size is over --max-mib.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
outdir=""
models_csv=""
quick=0
only_check=0
only_bench=0
bench_batches="1,32,256"
bench_precisions="fp16,bf16,tf32,fp32"
bench_models_csv="resnet50,ghostnet"
check_batch=2
kiln="$root/build/bin/kiln"
cpu_arch="x86-64-v3"
cuda_arch=""
cpu_only=0
emulated=0
max_mib=56
jobs=2

die() { echo "prepare.sh: error: $*" >&2; exit 1; }
need_value() { [[ $# -ge 2 ]] || die "$1 needs a value (see the top of $0)"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --models) need_value "$@"; models_csv="$2"; shift 2 ;;
    --models=*) models_csv="${1#*=}"; shift ;;
    --bench-models) need_value "$@"; bench_models_csv="$2"; shift 2 ;;
    --quick) quick=1; shift ;;
    --only-check) only_check=1; shift ;;
    --only-bench) only_bench=1; shift ;;
    --bench-batches) need_value "$@"; bench_batches="$2"; shift 2 ;;
    --precisions) need_value "$@"; bench_precisions="$2"; shift 2 ;;
    --check-batch) need_value "$@"; check_batch="$2"; shift 2 ;;
    --kiln) need_value "$@"; kiln="$2"; shift 2 ;;
    --cpu) need_value "$@"; cpu_arch="$2"; shift 2 ;;
    --cuda-arch) need_value "$@"; cuda_arch="$2"; shift 2 ;;
    --cpu-only) cpu_only=1; shift ;;
    --emulated) emulated=1; shift ;;
    --max-mib) need_value "$@"; max_mib="$2"; shift 2 ;;
    -j) need_value "$@"; jobs="$2"; shift 2 ;;
    -j*) jobs="${1#-j}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [[ -z "$outdir" ]] || die "more than one OUTDIR ('$outdir', '$1')"; outdir="$1"; shift ;;
  esac
done
outdir="${outdir:-$root/out/gpu}"
((only_check && only_bench)) && die "--only-check and --only-bench exclude each other"
((cpu_only && emulated)) && die "--cpu-only and --emulated exclude each other"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "-j expects a positive integer, got '$jobs'"
[[ "$max_mib" =~ ^[1-9][0-9]*$ ]] || die "--max-mib expects a positive integer, got '$max_mib'"
[[ "$check_batch" =~ ^[1-9][0-9]*$ ]] || die "--check-batch expects a positive integer"
[[ -x "$kiln" ]] || die "no kiln compiler at '$kiln' (build it: ./setup.sh, or give --kiln PATH)"
command -v strip > /dev/null || die "'strip' not found (binutils)"

# --------------------------------------------------------------- what kiln can do
help="$("$kiln" compile --help 2>&1)" || die "'$kiln compile --help' failed:
$help"
has_flag() { grep -q -- "--$1[= ]" <<< "$help"; }
if ((cpu_only)); then
  target=cpu
elif ((emulated)); then
  target=all-emulated
else
  target=all
  has_flag precision || die "this kiln has no --precision flag yet (the CUDA target is not built in);
use --emulated or --cpu-only to prepare executables for testing run.py --allow-cpu"
fi
common=(--target "$target")
has_flag cpu && common+=(--cpu "$cpu_arch")
if ((!cpu_only)) && [[ -n "$cuda_arch" ]]; then
  has_flag cuda-arch || die "this kiln has no --cuda-arch flag"
  [[ "$cuda_arch" =~ ^((sm_|compute_)?[0-9]+a?)(,(sm_|compute_)?[0-9]+a?)*$ ]] ||
    die "bad --cuda-arch '$cuda_arch' (e.g. sm_90a or sm_80,sm_90a,compute_80)"
  common+=(--cuda-arch "$cuda_arch")
fi

# ------------------------------------------------------------------ the build list
all_models=()
for f in "$root"/models/*.yaml; do all_models+=("$(basename "$f" .yaml)"); done
((${#all_models[@]})) || die "no models in $root/models"
if ((quick)); then
  check_models=(resnet50 ghostnet)
elif [[ -n "$models_csv" ]]; then
  IFS=, read -r -a check_models <<< "$models_csv"
else
  check_models=("${all_models[@]}")
fi
for m in "${check_models[@]}"; do
  [[ -f "$root/models/$m.yaml" ]] || die "unknown model '$m' (models/: ${all_models[*]})"
done
IFS=, read -r -a bench_models <<< "$bench_models_csv"
for m in "${bench_models[@]+"${bench_models[@]}"}"; do
  [[ -f "$root/models/$m.yaml" ]] || die "unknown bench model '$m' (models/: ${all_models[*]})"
done
IFS=, read -r -a batches <<< "$bench_batches"
IFS=, read -r -a precisions <<< "$bench_precisions"
for p in "${precisions[@]}"; do
  [[ "$p" =~ ^(fp32|tf32|fp16|bf16)$ ]] || die "unknown precision '$p' (fp32, tf32, fp16, bf16)"
done
for b in "${batches[@]}"; do [[ "$b" =~ ^[1-9][0-9]*$ ]] || die "bad batch '$b'"; done

# One line per executable: model precision batch purpose.
plan=()
if ((!only_bench)); then
  for m in "${check_models[@]}"; do
    if ((cpu_only)); then
      plan+=("$m fp32 $check_batch check")
      continue
    fi
    plan+=("$m fp32 $check_batch check" "$m fp16 $check_batch check")
    if [[ "$m" == resnet50 || "$m" == ghostnet ]]; then
      plan+=("$m tf32 $check_batch check" "$m bf16 $check_batch check")
    fi
  done
fi
if ((!only_check)); then
  for m in "${bench_models[@]+"${bench_models[@]}"}"; do
    for b in "${batches[@]}"; do
      for p in "${precisions[@]}"; do
        ((cpu_only)) && [[ "$p" != fp32 ]] && continue
        plan+=("$m $p $b bench")
      done
    done
  done
fi
((${#plan[@]})) || die "nothing to build with these options"

mkdir -p "$outdir"
# What an earlier run left (only files named as this script names them), so that the
# folder holds exactly this manifest's executables.
shopt -s nullglob
rm -rf "$outdir/logs"
rm -f "$outdir"/*-{fp32,tf32,fp16,bf16}-b[0-9]* "$outdir"/{manifest,results}.json \
  "$outdir/compile-worker.log"
shopt -u nullglob
mkdir -p "$outdir/logs"
outdir="$(cd "$outdir" && pwd)"
t_start=$SECONDS
cpu_start="$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)"
echo "prepare.sh: ${#plan[@]} configs into $outdir (kiln $kiln, target $target," \
     "flags: ${common[*]})"

# ------------------------------------------------------------------------ compile
compile_one() {  # model precision batch -> OUTDIR/model-precision-bB, log in logs/
  local m="$1" p="$2" b="$3"
  local name="$m-$p-b$b" log="$outdir/logs/$m-$p-b$b.log"
  local args=(compile "$root/models/$m.yaml" "${common[@]}" --batch "$b" -o "$outdir/$name")
  ((cpu_only)) || args+=(--precision "$p")
  local start=$SECONDS
  {
    echo "\$ $kiln ${args[*]}"
    "$kiln" "${args[@]}" && strip "$outdir/$name"
  } > "$log" 2>&1 || {
    echo "FAILED  $name (log: $log):" >&2
    tail -n 15 "$log" | sed 's/^/    /' >&2
    return 1
  }
  printf '  %-34s %6.1f MiB  %3ds\n' "$name" \
    "$(awk -v s="$(stat -c %s "$outdir/$name")" 'BEGIN{print s/1048576}')" $((SECONDS - start))
}

# A first compile on its own: if kiln cannot build CUDA code, say so once, clearly.
read -r m0 p0 b0 _ <<< "${plan[0]}"
if ! compile_one "$m0" "$p0" "$b0"; then
  if ((!cpu_only)) && grep -qiE "cuda|nvcc|target" "$outdir/logs/$m0-$p0-b$b0.log"; then
    die "kiln could not build a CUDA executable (see above): is it built with the CUDA
target and is nvcc found (/usr/local/cuda)? For a CPU-only test run: --cpu-only"
  fi
  die "the first compile failed (see above)"
fi

failed=0
running=0
declare -A built=(["$m0-$p0-b$b0"]=1)
for entry in "${plan[@]:1}"; do
  read -r m p b _ <<< "$entry"
  # A check and a bench executable of the same model, precision and batch
  # are one file (listed twice in the manifest).
  [[ -n "${built["$m-$p-b$b"]:-}" ]] && continue
  built["$m-$p-b$b"]=1
  if ((jobs == 1)); then
    compile_one "$m" "$p" "$b" || failed=$((failed + 1))
  else
    compile_one "$m" "$p" "$b" &
    running=$((running + 1))
    if ((running >= jobs)); then
      wait -n || failed=$((failed + 1))
      running=$((running - 1))
    fi
  fi
done
while ((running > 0)); do
  wait -n || failed=$((failed + 1))
  running=$((running - 1))
done
((failed == 0)) || die "$failed compile(s) failed; logs in $outdir/logs"

# ----------------------------------------------------------------------- manifest
commit="$(git -C "$root" rev-parse --short HEAD 2> /dev/null || echo unknown)"
dirty="$(git -C "$root" status --porcelain --untracked-files=no 2> /dev/null | head -1)"
{
  printf '{\n  "created": "%s",\n  "kiln_commit": "%s%s",\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$commit" "${dirty:+ (modified)}"
  printf '  "target": "%s",\n  "flags": "%s",\n  "executables": [\n' "$target" "${common[*]}"
  sep=""
  for entry in "${plan[@]}"; do
    read -r m p b purpose <<< "$entry"
    printf '%s    {"file": "%s", "model": "%s", "precision": "%s", "batch": %d, "purpose": "%s", "target": "%s"}' \
      "$sep" "$m-$p-b$b" "$m" "$p" "$b" "$purpose" "$target"
    sep=$',\n'
  done
  printf '\n  ]\n}\n'
} > "$outdir/manifest.json"

# ---------------------------------------------------------------------------- pack
# The executables compress about 4x with xz (mostly their CUDA fatbins); what
# travels is bundle.tar.xz, which run.py unpacks on the GPU machine.
files=("${!built[@]}")
rm -f "$outdir/bundle.tar.xz"
(cd "$outdir" && XZ_OPT="-6 -T0" tar -cJf bundle.tar.xz "${files[@]}") ||
  die "packing the executables into $outdir/bundle.tar.xz failed"
(cd "$outdir" && rm -f "${files[@]}")

# ---------------------------------------------------------------------- size check
# What travels is the whole folder: count it all, and name files of earlier runs.
total=$(du -sb "$outdir" | cut -f1)
stale=()
for f in "$outdir"/*; do
  n="$(basename "$f")"
  [[ "$n" == logs || "$n" == manifest.json || "$n" == bundle.tar.xz ]] && continue
  grep -q "\"file\": \"$n\"" "$outdir/manifest.json" || stale+=("$n")
done
if ((${#stale[@]})); then
  echo "prepare.sh: warning: $outdir holds ${#stale[@]} file(s) not in this manifest" \
       "(${stale[*]:0:5}); they travel too: remove them" >&2
fi
mib=$(awk -v s="$total" 'BEGIN{printf "%.1f", s/1048576}')
# CPU time of this script and every compile it waited for (utime + stime +
# cutime + cstime, in clock ticks): the 2-core time that --jobs cannot hide.
cpu_end="$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)"
cpu_s=$(( (cpu_end - cpu_start) / $(getconf CLK_TCK) ))
echo "prepare.sh: ${#files[@]} executables, $mib MiB in $outdir with xz (limit $max_mib MiB);" \
     "$((SECONDS - t_start)) s wall, ${cpu_s} s CPU (-j $jobs)"
if ((total > max_mib * 1048576)); then
  die "$outdir holds $mib MiB, over --max-mib $max_mib: the device tool carries at most
64 MiB together with the working tree. Prepare a subset, e.g. --quick, --models a,b,
--only-check / --only-bench, --bench-batches 1,256 or --precisions fp32,fp16, and run
in several device calls."
fi
echo "prepare.sh: done; manifest $outdir/manifest.json. Next, on the GPU machine:"
echo "  PYTHONUNBUFFERED=1 python3 bench/gpu/run.py ${outdir#"$root"/} --out \$OUT --budget 480"
