"""Writes a .npy file byte by byte, well-formed or not (stdlib only).

    make_npy.py OUT [--descr D] [--fortran] [--shape 2,3] [--header TEXT]
                [--version MAJOR] [--magic HEX] [--floats 1,2,...] [--bytes N]

The header dict is numpy's, built from --descr, --fortran and --shape unless --header
gives its text; it is padded with spaces and a newline to a multiple of 64 bytes as numpy
does. The data is --floats as little-endian float32, or --bytes N zero bytes.
"""
import argparse
import struct

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--descr", default="<f4")
parser.add_argument("--fortran", action="store_true")
parser.add_argument("--shape", default="")
parser.add_argument("--header")
parser.add_argument("--version", type=int, default=1)
parser.add_argument("--magic", default="934e554d5059")
parser.add_argument("--floats", default="")
parser.add_argument("--bytes", type=int, default=0)
args = parser.parse_args()

dims = [d for d in args.shape.split(",") if d]
shape = "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
text = args.header if args.header is not None else (
    "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }"
    % (args.descr, "True" if args.fortran else "False", shape))
prefix = 10 if args.version == 1 else 12
text += " " * ((-(prefix + len(text) + 1)) % 64) + "\n"
header = text.encode("latin1" if args.version < 3 else "utf-8")
length = struct.pack("<H" if args.version == 1 else "<I", len(header))
floats = [float(v) for v in args.floats.split(",") if v]
data = struct.pack("<%df" % len(floats), *floats) + bytes(args.bytes)
with open(args.out, "wb") as f:
    f.write(bytes.fromhex(args.magic) + bytes([args.version, 0]) + length + header + data)
