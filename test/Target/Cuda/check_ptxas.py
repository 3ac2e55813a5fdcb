#!/usr/bin/env python3
"""Checks the ptxas report of `kiln compile --target cuda -v` (a lit test helper).

    check_ptxas.py < compile.log

ptxas prints, for each kernel and SM version, "Compiling entry function 'NAME'
for 'sm_XX'", then "N bytes stack frame, S bytes spill stores, L bytes spill
loads" and "Used R registers, used B barriers". Every convolution (GEMM, sm_90a
GEMM and direct) and linear kernel must have no spills on every SM version.

Some kernels are empty on purpose (a trap; kiln/cuda/arch.h): the sm_90a
kernel (conv_wgmma_kernel) in every image but sm_90a, and in sm_90a a
mma.sync kernel that only the variant of the other GPUs launches
(conv_gemm_kernel with Images::NotSm90a, mangled "NS0_6ImagesE1"). Those
must be empty (no barrier, at most 8 registers) and the others not. Prints
the number of kernels checked per SM version; exits 1 naming the first kernel
that breaks a rule.
"""
import collections
import re
import sys


def expected_empty(name, arch):
    if "conv_wgmma_kernel" in name:
        return arch != "sm_90a"
    return "conv_gemm_kernel" in name and "ImagesE1" in name and arch == "sm_90a"


def main():
    log = sys.stdin.read()
    kernels = collections.Counter()
    empty = collections.Counter()
    current = None
    spills = None
    for line in log.splitlines():
        m = re.search(r"Compiling entry function '([^']+)' for '(sm_\d+a?)'", line)
        if m:
            current, spills = m.groups(), None
            continue
        m = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m and current:
            spills = m.groups()
            continue
        m = re.search(r"Used (\d+) registers, used (\d+) barriers", line)
        if m and current and spills:
            name, arch = current
            current = None
            if not ("conv_gemm_kernel" in name or "direct_conv_kernel" in name
                    or "conv_wgmma_kernel" in name):
                continue
            if spills != ("0", "0"):
                sys.exit(f"check_ptxas: {name} spills on {arch}: {spills[0]} bytes stored, "
                         f"{spills[1]} loaded")
            is_empty = m.group(2) == "0" and int(m.group(1)) <= 8
            if expected_empty(name, arch):
                if not is_empty:
                    sys.exit(f"check_ptxas: {name} has code on {arch}, where it should "
                             "be empty")
                empty[arch] += 1
            elif is_empty and "direct_conv_kernel" not in name:
                sys.exit(f"check_ptxas: {name} is empty on {arch}")
            else:
                kernels[arch] += 1
    if not kernels:
        sys.exit("check_ptxas: no convolution kernels in the ptxas report")
    print("no spills: " + ", ".join(
        f"{a} {kernels[a]} convolution kernels" + (f" ({empty[a]} empty)" if empty[a] else "")
        for a in sorted(kernels)))


if __name__ == "__main__":
    main()
