"""Writes a safetensors file byte by byte, well-formed or not (stdlib only).

    make_safetensors.py OUT HEADER [--data HEX | --zeros N] [--length N]

HEADER is the header text, written as given (so it may be bad JSON); the 8-byte
little-endian length in front of it is its size unless --length overrides it. The
data section follows: the bytes of --data (hex, spaces allowed) or --zeros N zero bytes.
"""
import argparse
import struct

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("header")
parser.add_argument("--data", default="")
parser.add_argument("--zeros", type=int, default=0)
parser.add_argument("--length", type=int)
args = parser.parse_args()

header = args.header.encode("utf-8", "surrogateescape")
length = len(header) if args.length is None else args.length
data = bytes.fromhex(args.data) + bytes(args.zeros)
with open(args.out, "wb") as f:
    f.write(struct.pack("<Q", length) + header + data)
