#!/usr/bin/env python3
"""Checks the ptxas report of `kiln compile --target cuda -v` (a lit test helper).

    check_ptxas.py < compile.log

ptxas prints, for each kernel and SM version, "Compiling entry function 'NAME'
for 'sm_XX'" and then "N bytes stack frame, S bytes spill stores, L bytes spill
loads". Every convolution (GEMM, sm_90a GEMM and direct) and linear kernel must have no
spills on every SM version. Prints the number of kernels checked per SM version;
exits 1 naming the first kernel that spills.
"""
import collections
import re
import sys


def main():
    log = sys.stdin.read()
    per_arch = collections.Counter()
    current = None
    for line in log.splitlines():
        m = re.search(r"Compiling entry function '([^']+)' for '(sm_\d+a?)'", line)
        if m:
            current = m.groups()
            continue
        m = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m and current:
            name, arch = current
            hot = ("conv_gemm_kernel" in name or "direct_conv_kernel" in name
                   or "conv_wgmma_kernel" in name)
            if hot:
                per_arch[arch] += 1
                if m.group(1) != "0" or m.group(2) != "0":
                    sys.exit(f"check_ptxas: {name} spills on {arch}: {line.strip()}")
            current = None
    if not per_arch:
        sys.exit("check_ptxas: no convolution kernels in the ptxas report")
    print("no spills: " + ", ".join(f"{a} {n} convolution kernels"
                                    for a, n in sorted(per_arch.items())))


if __name__ == "__main__":
    main()
