"""Checks a preprocessed 1x3x224x224 image .npy value by value (stdlib only).

    check_image.py OUT.npy constant R G B   every value of channel c is f(c-th of R, G, B)
    check_image.py OUT.npy gradient W H     the centered 224x224 crop of make_image.py's
                                            gradient, no resize (W or H must be 256)

where f(v) = (float32(v) / 255 - mean[c]) / std[c] in float32, as torchvision computes it.
float32 arithmetic is emulated with struct: each operation is done in double and rounded to
float32, which is exact for a single +, -, * or / of float32 operands. Crop offsets are
int(round((size - 224) / 2)), Python's round (halves to even). Prints "OK" or the first
mismatch.
"""
import struct
import sys

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def normalize(v, c):
    x = f32(float(v) / 255.0)  # ToTensor
    return f32(f32(x - f32(MEAN[c])) / f32(STD[c]))  # Normalize


data = open(sys.argv[1], "rb").read()
(hlen,) = struct.unpack("<H", data[8:10])
assert "(1, 3, 224, 224)" in data[10:10 + hlen].decode("latin1")
got = struct.unpack("<%df" % (3 * 224 * 224), data[10 + hlen:])

kind = sys.argv[2]
if kind == "constant":
    rgb = [int(v) for v in sys.argv[3:6]]
    pixel = lambda x, y, c: rgb[c]
else:
    w, h = int(sys.argv[3]), int(sys.argv[4])
    top, left = round((h - 224) / 2.0), round((w - 224) / 2.0)
    pixel = lambda x, y, c: ((left + x) % 256, (top + y) % 256,
                             (left + x + 2 * (top + y)) % 256)[c]
for c in range(3):
    for y in range(224):
        for x in range(224):
            want = normalize(pixel(x, y, c), c)
            have = got[(c * 224 + y) * 224 + x]
            if have != want:
                sys.exit("mismatch at c=%d y=%d x=%d: got %.9g, want %.9g" % (c, y, x, have, want))
print("OK")
