#!/usr/bin/python3
"""Checks that an x86-64 executable built by kiln runs no instruction the CPU may lack.

    tools/check_isa.py EXE [--objdump objdump]

An executable built with `kiln compile --cpu auto` holds the CPU kernels once
per instruction set, each in its own namespace (kiln::cpu::isa_avx512,
kiln::cpu::isa_avx2, kiln::cpu::isa_portable), and picks one at start-up.
That is safe only if no code outside a kernel set's namespace uses its
instructions -- e.g. an inline function compiled for AVX-512 that the linker
kept as the one copy every caller shares. This disassembles EXE and checks
every function:
  * in isa_avx512: anything goes;
  * in isa_avx2: no AVX-512 (zmm or mask registers, EVEX-only registers or
    instructions);
  * everywhere else: nothing beyond the x86-64 baseline (no VEX or EVEX
    instruction, no SSSE3/SSE4, BMI, LZCNT, MOVBE or POPCNT).
Prints each offending function with its first offending instruction and exits
1 if there is one, 0 otherwise; prints a summary of the counts.
"""
import argparse
import re
import subprocess
import sys

AVX512 = re.compile(
    r"%zmm|%k[0-7]\b|\{%k[0-7]\}|%[xy]mm(1[6-9]|2[0-9]|3[01])\b|"
    r"\bv(pternlog|movdqu(8|16|32|64)|movdqa(32|64)|permt2|permi2|compress|expand|scalef|"
    r"rndscale|fixupimm|getexp|getmant|range|reduce|fpclass|pconflict|plzcnt|"
    r"prol|pror|dbpsadbw|cvtt?p[sd]2u|cvtu|cvtt?[ps]s2q|cvtt?pd2qq|cvtq|pmovm2|"
    r"pmov[a-z]*2m|pbroadcastm|insert[if](32x8|64x2|64x4)|extract[if](32x8|64x2|64x4)|"
    r"broadcast[if](32x[248]|64x[24])|p(and|or|xor|andn)[dq]\b|pabsq|pmaxsq|pminsq|pmaxuq|"
    r"pminuq|pmullq|psraq|psravq|psllvw|psrlvw|psravw|rcp14|rsqrt14|alignd|alignq|"
    r"shuf[if](32x4|64x2)|pmovq|pmovd|pmovw|pmovs[dqw]|pmovus[dqw])")
BEYOND_BASELINE = re.compile(
    r"^\s*(v[a-z0-9]+|pshufb|palignr|phadd[a-z]*|phsub[a-z]*|pabs[bwd]|psign[bwd]|"
    r"pmaddubsw|pmulhrsw|ptest|pblend[a-z]*|blendv?p[sd]|pmulld|pmuldq|round[sp][sd]|"
    r"pmin[su][bdw]|pmax[su][bdw]|pinsr[bdq]|pextr[bdq]|pmov[sz]x[a-z]*|packusdw|"
    r"pcmpeqq|pcmpgtq|pcmp[ei]str[im]|dpp[sd]|insertps|extractps|mpsadbw|phminposuw|"
    r"popcnt|crc32|andn|bextr|blsi|blsmsk|blsr|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx|"
    r"lzcnt|tzcnt|movbe)\b")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("exe")
    ap.add_argument("--objdump", default="objdump")
    args = ap.parse_args()
    dis = subprocess.run([args.objdump, "-d", "-C", "--no-show-raw-insn", "-M", "att",
                          args.exe], check=True, capture_output=True, text=True).stdout
    head = re.compile(r"^[0-9a-f]+ <(.*)>:$")
    func, bad, counts = None, {}, {"avx512": 0, "avx2": 0, "other": 0}
    kind = "other"
    for line in dis.splitlines():
        m = head.match(line)
        if m:
            func = m.group(1)
            kind = ("avx512" if "kiln::cpu::isa_avx512::" in func else
                    "avx2" if "kiln::cpu::isa_avx2::" in func else "other")
            counts[kind] += 1
            continue
        if func is None or func in bad or "\t" not in line:
            continue
        insn = line.split("\t", 1)[1]
        if kind == "avx512":
            continue
        if kind == "avx2":
            if AVX512.search(insn):
                bad[func] = ("AVX-512 in the AVX2 kernels", insn.strip())
        elif BEYOND_BASELINE.match(insn) or AVX512.search(insn):
            bad[func] = ("beyond the x86-64 baseline outside the kernel sets",
                         insn.strip())
    for func, (why, insn) in sorted(bad.items()):
        print(f"{args.exe}: {why}: {func}: {insn}")
    print(f"check_isa: {counts['avx512']} AVX-512 kernel functions, {counts['avx2']} AVX2 "
          f"kernel functions, {counts['other']} others; {len(bad)} offending")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
