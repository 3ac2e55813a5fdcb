#!/usr/bin/env python3
"""Checks the PTX of `kiln compile --emit=ptx` (a lit test helper).

    check_ptx.py PRECISION < model.ptx

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


def main():
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
