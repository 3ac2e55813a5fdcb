#!/usr/bin/env python3
"""Checks the PTX of `kiln compile --emit=ptx` (a lit test helper).

    check_ptx.py PRECISION < model.ptx
    check_ptx.py --sm90a PRECISION < model.ptx

With --sm90a (PTX of `--cuda-arch sm_90a`) every convolution and linear layer
that runs as an implicit GEMM must be the warp-specialised sm_90a kernel
(conv_wgmma_kernel; none may be left on conv_gemm_kernel), and each must
multiply with wgmma.mma_async of the precision (m64nNk16 .f16/.bf16, m64nNk8
.tf32) between wgmma.fence / commit_group / wait_group, load its tiles with
cp.async.bulk.tensor completing on an mbarrier (mbarrier.arrive.expect_tx,
mbarrier.try_wait.parity). (The consumers' mbarrier.arrive that releases a
stage is absent from layers of a single K step: ptxas removes it.)

Every convolution and linear layer that runs as an implicit GEMM
(conv_gemm_kernel) must, in the tensor-core precisions, multiply with
mma.sync of the precision's shape (m16n8k16 .f16/.bf16, m16n8k8 .tf32) and
load its tiles with 16-byte cp.async into shared memory, waiting for them with
cp.async.wait_group (the multi-stage pipeline); 16-bit kernels also read their
fragments with ldmatrix. fp32 kernels use FMA and no mma. Prints one summary
line; exits 1 naming the first kernel that breaks a rule.
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


def check_sm90a(precision, ptx):
    entries = re.split(r"(?=^\.visible \.entry )", ptx, flags=re.M)[1:]
    if not entries:
        sys.exit("check_ptx: no kernels in the PTX")
    wgmma = 0
    for body in entries:
        name = body.split("(", 1)[0].split()[-1]
        if "conv_gemm_kernel" in name:
            sys.exit(f"check_ptx: {name}: a GEMM layer left on the mma.sync kernel")
        if "conv_wgmma_kernel" not in name:
            continue
        wgmma += 1
        need = [r"wgmma\.fence\.sync\.aligned",
                r"wgmma\.mma_async\.sync\.aligned\." + WGMMA[precision],
                r"wgmma\.commit_group\.sync\.aligned", r"wgmma\.wait_group\.sync\.aligned",
                r"cp\.async\.bulk\.tensor\.[24]d\.shared::cluster\.global\.tile\."
                r"mbarrier::complete_tx::bytes",
                r"mbarrier\.init\.shared", r"mbarrier\.arrive\.expect_tx\.shared",
                r"mbarrier\.try_wait\.parity\.shared"]
        for pattern in need:
            if not re.search(pattern, body):
                sys.exit(f"check_ptx: {name}: no match for {pattern}")
    if wgmma == 0:
        sys.exit("check_ptx: no conv_wgmma_kernel in the PTX")
    shape = {"fp16": "m64nNk16 .f16", "bf16": "m64nNk16 .bf16", "tf32": "m64nNk8 .tf32"}
    print(f"{len(entries)} kernels, {wgmma} GEMM layers: all on wgmma ({shape[precision]}) "
          "fed by TMA through mbarrier pipelines")


def main():
    if sys.argv[1] == "--sm90a":
        return check_sm90a(sys.argv[2], sys.stdin.read())
    precision = sys.argv[1]
    ptx = sys.stdin.read()
    entries = re.split(r"(?=^\.visible \.entry )", ptx, flags=re.M)[1:]
    if not entries:
        sys.exit("check_ptx: no kernels in the PTX")
    gemm = 0
    for body in entries:
        name = body.split("(", 1)[0].split()[-1]
        if "conv_gemm_kernel" not in name:
            continue
        gemm += 1
        need = [r"cp\.async\.c[ga]\.shared\.global(\.L2::\w+)? \[[^]]+\], \[[^]]+\], 16",
                r"cp\.async\.commit_group", r"cp\.async\.wait_group"]
        mma = MMA[precision]
        if mma:
            need.append(re.escape(mma))
        if precision in ("fp16", "bf16"):
            need.append(r"ldmatrix\.sync\.aligned\.m8n8")
        for pattern in need:
            if not re.search(pattern, body):
                sys.exit(f"check_ptx: {name}: no match for {pattern}")
        if not mma and "mma.sync" in body:
            sys.exit(f"check_ptx: {name}: fp32 kernel uses mma.sync")
    if gemm == 0:
        sys.exit("check_ptx: no conv_gemm_kernel in the PTX")
    what = f"mma.sync ({MMA[precision].split('.')[3]})" if MMA[precision] else "FMA"
    print(f"{len(entries)} kernels, {gemm} GEMM layers: all on {what} fed by "
          f"16-byte cp.async with a wait_group pipeline")


if __name__ == "__main__":
    main()
