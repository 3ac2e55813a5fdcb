"""Writes a forged JPEG: samples/cat.jpg with its frame header (SOF) set to
WIDTH x HEIGHT and the file cut KEEP bytes after the start of scan (stdlib).

    forge_jpeg.py IN.jpg OUT.jpg WIDTH HEIGHT KEEP
"""
import struct
import sys

src, out, width, height, keep = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
data = bytearray(open(src, "rb").read())
i = 2
while i < len(data):
    marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
    if marker in (0xC0, 0xC1, 0xC2):
        data[i + 5:i + 9] = struct.pack(">HH", height, width)
    if marker == 0xDA:
        end = i + 2 + length + keep
        break
    i += 2 + length
open(out, "wb").write(bytes(data[:end]))
