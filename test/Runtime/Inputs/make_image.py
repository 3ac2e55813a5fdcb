"""Writes a small test image as binary PPM/PGM or PNG (stdlib only).

    make_image.py OUT W H constant R G B [A]   every pixel (R, G, B) or (R, G, B, A)
    make_image.py OUT W H constant G           gray, every pixel G
    make_image.py OUT W H gradient             pixel (x, y) = (x % 256, y % 256, (x + 2y) % 256)
    make_image.py OUT W H wide MAXVAL V...     PGM/PPM with MAXVAL > 255: 16-bit samples V

OUT ending in .png gives an 8-bit PNG (gray, RGB or RGBA), anything else a PPM (P6) or
PGM (P5); RGBA is PNG only.
"""
import struct
import sys
import zlib

out, w, h, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
maxval = 255
if kind == "wide":
    maxval = int(sys.argv[5])
    values = b"".join(struct.pack(">H", int(v)) for v in sys.argv[6:])
    channels = len(sys.argv[6:])
    rows = [values * w] * h
elif kind == "gradient":
    channels = 3
    rows = [bytes(c for x in range(w) for c in (x % 256, y % 256, (x + 2 * y) % 256))
            for y in range(h)]
else:
    values = bytes(int(v) for v in sys.argv[5:])
    channels = len(values)
    rows = [values * w] * h

if out.endswith(".png"):
    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))
    color = {1: 0, 3: 2, 4: 6}[channels]
    raw = b"".join(b"\0" + row for row in rows)
    data = (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
else:
    assert channels in (1, 3), "PPM/PGM hold gray or RGB"
    data = ((b"P6" if channels == 3 else b"P5") + b"\n%d %d\n%d\n" % (w, h, maxval) +
            b"".join(rows))
with open(out, "wb") as f:
    f.write(data)
