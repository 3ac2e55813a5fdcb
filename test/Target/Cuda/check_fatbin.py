#!/usr/bin/env python3
"""Lists the device code an executable holds (a lit test helper; no cuobjdump here).

    check_fatbin.py EXE

nvcc embeds the device code in the ELF section .nv_fatbin: a fat binary
(header: magic 0xBA55ED50, version, header size, size of the entries) of
entries, each a header (kind: 1 PTX, 2 ELF cubin; its header size; its size;
the SM version at byte 28; flags at byte 40, of which 0x100000 marks an
architecture-specific target such as sm_90a, as nvcc 13 writes them) and its
data (PTX compressed, cubins as they are). For each entry this prints one
line, in the order nvcc wrote them: "compute_80 PTX", or for a cubin "sm_90a
SASS:" and its convolution kernels by family (conv_gemm_kernel: mma.sync or
FMA, conv_wgmma_kernel: TMA/wgmma, direct_conv_kernel), read from the cubin's
symbol table; a kernel of at most 384 bytes of code is "empty" (the trap
kiln/cuda/arch.h leaves where a variant never launches it). Exits 1 if the
file has no .nv_fatbin.
"""
import collections
import struct
import sys

FAMILIES = ("conv_gemm_kernel", "conv_wgmma_kernel", "direct_conv_kernel")
ARCH_SPECIFIC = 0x100000
EMPTY_BYTES = 384


def sections(elf):
    """{name: (offset, size)} of an ELF64 little-endian file."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        sys.exit("check_fatbin: not an ELF64 file")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize)
               for i in range(shnum)]
    strtab = headers[shstrndx]
    def name(off):
        start = strtab[4] + off
        return elf[start:elf.index(b"\0", start)].decode()
    return {name(h[0]): h for h in headers}


def kernels(cubin):
    """Kernel families of a cubin: family -> (with code, empty)."""
    secs = sections(cubin)
    symtab, strtab = secs.get(".symtab"), secs.get(".strtab")
    counts = collections.defaultdict(lambda: [0, 0])
    if not symtab or not strtab:
        return counts
    for off in range(symtab[4], symtab[4] + symtab[5], 24):
        st_name, st_info, _, _, _, st_size = struct.unpack_from("<IBBHQQ", cubin, off)
        if st_info & 0xF != 2:  # STT_FUNC
            continue
        start = strtab[4] + st_name
        name = cubin[start:cubin.index(b"\0", start)].decode()
        for family in FAMILIES:
            if family in name:
                counts[family][st_size <= EMPTY_BYTES] += 1
    return counts


def main():
    exe = open(sys.argv[1], "rb").read()
    fatbin = sections(exe).get(".nv_fatbin")
    if not fatbin:
        sys.exit(f"check_fatbin: {sys.argv[1]} has no .nv_fatbin section")
    data = exe[fatbin[4]:fatbin[4] + fatbin[5]]
    at = 0
    while at + 16 <= len(data):
        magic, _, header, size = struct.unpack_from("<IHHQ", data, at)
        if magic != 0xBA55ED50:
            break
        entry, end = at + header, at + header + size
        while entry < end:
            kind, _, entry_header, entry_size = struct.unpack_from("<HHIQ", data, entry)
            arch, = struct.unpack_from("<I", data, entry + 28)
            flags, = struct.unpack_from("<Q", data, entry + 40)
            suffix = "a" if flags & ARCH_SPECIFIC else ""
            body = data[entry + entry_header:entry + entry_header + entry_size]
            if kind == 1:
                print(f"compute_{arch}{suffix} PTX")
            elif kind == 2:
                found = kernels(body)
                parts = []
                for family in FAMILIES:
                    code, empty = found[family]
                    if code:
                        parts.append(f"{code} {family}")
                    if empty:
                        parts.append(f"{empty} {family} empty")
                print(f"sm_{arch}{suffix} SASS: " + (", ".join(parts) or "no convolution kernels"))
            entry += entry_header + entry_size
        at = end


if __name__ == "__main__":
    main()
