#!/usr/bin/env python3
"""Checks the PTX of `kiln compile --emit=ptx` (a lit test helper).

    check_ptx.py PRECISION < model.ptx

The input holds one PTX module per virtual architecture of the build (each
starts with `.target sm_XX`). In each, every convolution and linear layer that
runs as an implicit GEMM is checked:

* conv_gemm_kernel (the mma.sync kernel; FMA in fp32) must, in the
  tensor-core precisions, multiply with mma.sync of the precision's shape
  (m16n8k16 .f16/.bf16, m16n8k8 .tf32) and load its tiles with 16-byte
  cp.async into shared memory, waiting for them with cp.async.wait_group (the
  multi-stage pipeline); 16-bit kernels also read their fragments with
  ldmatrix. fp32 kernels use FMA and no mma.
* conv_wgmma_kernel (the warp-specialised sm_90a kernel) must, in the sm_90a
  module, multiply with wgmma.mma_async of the precision (m64nNk16
  .f16/.bf16, m64nNk8 .tf32) between wgmma.fence / commit_group / wait_group
  and load its tiles with cp.async.bulk.tensor completing on an mbarrier
  (mbarrier.arrive.expect_tx, mbarrier.try_wait.parity). (The consumers'
  mbarrier.arrive that releases a stage is absent from layers of a single K
  step: ptxas removes it.)
* kernels a module holds but its variant never launches are empty (a trap;
  kiln/cuda/arch.h): conv_wgmma_kernel outside sm_90a, and in sm_90a the
  mma.sync kernels of the layers that variant runs on wgmma (Images::NotSm90a,
  mangled "NS0_6ImagesE1").

Prints one line per module with the counts; exits 1 naming the first kernel
that breaks a rule.
"""
import re
import sys

MMA = {
    "fp16": "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32",
    "bf16": "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32",
    "tf32": "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32",
    "fp32": None,
}
WGMMA = {"fp16": r"m64n\d+k16\.f32\.f16\.f16", "bf16": r"m64n\d+k16\.f32\.bf16\.bf16",
         "tf32": r"m64n\d+k8\.f32\.tf32\.tf32"}
WGMMA_SHAPE = {"fp16": "m64nNk16 .f16", "bf16": "m64nNk16 .bf16", "tf32": "m64nNk8 .tf32"}


def require(name, body, patterns):
    for pattern in patterns:
        if not re.search(pattern, body):
            sys.exit(f"check_ptx: {name}: no match for {pattern}")


def is_empty(body):
    return "trap;" in body and not re.search(r"\b(ld|st|cp)\.", body)


def check_mma(precision, name, body):
    need = [r"cp\.async\.c[ga]\.shared\.global(\.L2::\w+)? \[[^]]+\], \[[^]]+\], 16",
            r"cp\.async\.commit_group", r"cp\.async\.wait_group"]
    mma = MMA[precision]
    if mma:
        need.append(re.escape(mma))
    if precision in ("fp16", "bf16"):
        need.append(r"ldmatrix\.sync\.aligned\.m8n8")
    require(name, body, need)
    if not mma and "mma.sync" in body:
        sys.exit(f"check_ptx: {name}: fp32 kernel uses mma.sync")


def check_wgmma(precision, name, body):
    if precision == "fp32":
        sys.exit(f"check_ptx: {name}: an fp32 layer on the sm_90a kernel")
    require(name, body, [
        r"wgmma\.fence\.sync\.aligned",
        r"wgmma\.mma_async\.sync\.aligned\." + WGMMA[precision],
        r"wgmma\.commit_group\.sync\.aligned", r"wgmma\.wait_group\.sync\.aligned",
        r"cp\.async\.bulk\.tensor\.[24]d\.shared::cluster\.global\.tile\."
        r"mbarrier::complete_tx::bytes",
        r"mbarrier\.init\.shared", r"mbarrier\.arrive\.expect_tx\.shared",
        r"mbarrier\.try_wait\.parity\.shared"])


def check_module(precision, target, ptx):
    sm90a = target == "sm_90a"
    entries = re.split(r"(?=^(?:\.visible |\.weak )?\.entry )", ptx, flags=re.M)[1:]
    if not entries:
        sys.exit(f"check_ptx: no kernels in the {target} PTX")
    mma = wgmma = empty = 0
    for entry in entries:
        name = entry.split("(", 1)[0].split()[-1]
        # The kernel, not the declarations and functions after it.
        end = re.search(r"\n(\.(visible|weak|extern|global|func)\b|\s*// \.globl)", entry)
        body = entry[:end.start()] if end else entry
        if "conv_wgmma_kernel" in name:
            if sm90a:
                check_wgmma(precision, name, body)
                wgmma += 1
                continue
        elif "conv_gemm_kernel" in name:
            if not (sm90a and "ImagesE1" in name):
                if is_empty(body):
                    sys.exit(f"check_ptx: {name}: empty in the {target} PTX")
                check_mma(precision, name, body)
                mma += 1
                continue
        else:
            continue
        if not is_empty(body):
            sys.exit(f"check_ptx: {name}: has code in the {target} PTX, where its variant "
                     "never runs it")
        empty += 1
    if mma + wgmma == 0:
        sys.exit(f"check_ptx: no GEMM kernel in the {target} PTX")
    what = f"mma.sync ({MMA[precision].split('.')[3]})" if MMA[precision] else "FMA"
    line = f"{target}: {len(entries)} kernels, {mma + wgmma} GEMM layers: "
    if sm90a:
        line += (f"{wgmma} on wgmma ({WGMMA_SHAPE.get(precision, '-')}) fed by TMA through "
                 f"mbarrier pipelines, {mma} on {what}")
    else:
        line += f"{mma} on {what} fed by 16-byte cp.async with a wait_group pipeline"
    print(line + (f"; {empty} empty" if empty else ""))


def main():
    precision = sys.argv[1]
    if precision not in MMA:
        sys.exit(f"check_ptx: unknown precision {precision}")
    ptx = sys.stdin.read()
    modules = re.split(r"(?=^\.target )", ptx, flags=re.M)[1:]
    if not modules:
        sys.exit("check_ptx: no PTX module (.target) in the input")
    for module in modules:
        check_module(precision, module.split()[1], module)


if __name__ == "__main__":
    main()
