"""Writes a forged PNG (stdlib only).

    forge_png.py KIND OUT.png

KIND: huge (a 65535 x 65535 frame header over 100 bytes of data),
badchunk (a chunk whose type holds a control byte and 0xFF),
emptyidat (a 4 x 4 image whose first IDAT chunk is empty, then the data),
plain (the same 4 x 4 image without the empty chunk).
"""
import struct
import sys
import zlib


def chunk(kind, data):
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


kind, out = sys.argv[1], sys.argv[2]
# 4 rows of 4 RGB pixels (x * 60, y * 60, 128), each row after filter byte 0.
rows = b"".join(b"\0" + bytes(v for x in range(4) for v in (x * 60, y * 60, 128))
                for y in range(4))
small = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
png = b"\x89PNG\r\n\x1a\n"
if kind == "huge":
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", 65535, 65535, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(100)))
elif kind == "badchunk":
    png += chunk(b"IHDR", small) + chunk(b"\x01\xffAB", b"") + chunk(b"IDAT", zlib.compress(rows))
elif kind == "emptyidat":
    png += chunk(b"IHDR", small) + chunk(b"IDAT", b"") + chunk(b"IDAT", zlib.compress(rows))
elif kind == "plain":
    png += chunk(b"IHDR", small) + chunk(b"IDAT", zlib.compress(rows))
else:
    sys.exit(f"unknown kind {kind!r}")
png += chunk(b"IEND", b"")
open(out, "wb").write(png)
