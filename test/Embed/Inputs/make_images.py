#!/usr/bin/env python3
"""Writes the pictures of the test/Embed tests (numpy + stdlib; no PIL).

    make_images.py folder DIR       an ImageFolder: DIR/<class>/... (see FOLDER)
    make_images.py transform DIR    pictures of many sizes for the transform cases
    make_images.py frames DIR N     N video frames DIR/frame%03d.ppm (64 x 48)

The pixels are a deterministic function of (width, height, seed) in integer arithmetic, so
tools/gen_embed_golden.py (which runs torchvision on them) and the tests see the same
pictures on any machine; PNG compression may differ between zlib versions, the pixels do
not. JPEGs come from the repository (samples/cat.jpg), not from an encoder.
"""
import os
import shutil
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
CAT = os.path.join(ROOT, "samples", "cat.jpg")


def pattern(width, height, seed):
    """An RGB picture: gradients, a per-seed tint, blocky hashed noise, a bright disc."""
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    s = np.int64(seed)
    h = (x // 3 * 73856093) ^ (y // 3 * 19349663) ^ (s * 83492791)
    noise = (h * 2654435761 >> 7) & 63
    r = (x * 255 // max(width - 1, 1) + s * 37) % 256
    g = (y * 255 // max(height - 1, 1) + s * 91) % 256
    b = ((x + 2 * y) * 3 + s * 53) % 256
    img = np.stack([r, g, b], axis=-1) // 2 + noise[..., None] * np.array([1, 2, 3])
    cx, cy, rad = (s * 7) % width, (s * 11) % height, max(2, min(width, height) // 4)
    img[(x - cx) ** 2 + (y - cy) ** 2 < rad * rad] = ((s * 50) % 256, 255, (s * 90) % 256)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_ppm(path, rgb):
    h, w, _ = rgb.shape
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h) + rgb.tobytes())


def write_png(path, pixels):
    """An 8-bit PNG: gray (H x W) or RGB (H x W x 3)."""
    h, w = pixels.shape[:2]
    color = 0 if pixels.ndim == 2 else 2

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))
    raw = b"".join(b"\0" + pixels[i].tobytes() for i in range(h))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# The ImageFolder of the eval tests: class names that sort by code point (upper case
# first; ' ' < '-' < '_'), a nested folder, upper-case extensions, a JPEG, files that are
# not images, of several sizes and formats. (relative path, width, height, seed)
FOLDER = [
    ("Zebra/z1.ppm", 40, 30, 1), ("Zebra/z2.png", 33, 47, 2), ("Zebra/z3.PNG", 64, 64, 3),
    ("apple/a1.ppm", 36, 36, 4), ("apple/sub/a2.png", 50, 20, 5),
    ("apple/sub-2/a3.ppm", 31, 45, 6), ("apple/sub/deeper/a4.png", 29, 29, 7),
    ("apple/a0.JPG", 0, 0, 0),
    ("apple pie/p1.ppm", 45, 32, 8), ("apple pie/p2.png", 32, 32, 9),
    ("apple-pie/q1.png", 70, 35, 10), ("apple-pie/q2.ppm", 34, 68, 11), ("apple-pie/q3.ppm", 32, 33, 12),
    ("apple_pie/r1.ppm", 41, 39, 13), ("apple_pie/r2.png", 38, 26, 14),
    ("kiwi/k1.png", 48, 48, 15), ("kiwi/k2.ppm", 27, 52, 16), ("kiwi/k3.png", 60, 40, 17),
    ("kiwi/k4.ppm", 35, 35, 18), ("kiwi/k5.png", 44, 30, 19),
]
NOT_IMAGES = ["apple/readme.txt", "kiwi/k1.png.txt", "Zebra/notes"]


def make_folder(out):
    for rel, w, h, seed in FOLDER:
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if rel.endswith(".JPG"):
            shutil.copyfile(CAT, path)
        elif rel.lower().endswith(".png"):
            # Every third PNG is grayscale.
            img = pattern(w, h, seed)
            write_png(path, img[..., 1] if seed % 3 == 0 else img)
        else:
            write_ppm(path, pattern(w, h, seed))
    for rel in NOT_IMAGES:
        with open(os.path.join(out, rel), "w") as f:
            f.write("not a picture\n")


# Pictures of the transform cases: (file, width, height, seed).
TRANSFORM_IMAGES = [("wide.ppm", 300, 199, 21), ("tall.png", 150, 400, 22),
                    ("small.png", 64, 50, 23), ("square.ppm", 256, 256, 24)]


def make_transform(out):
    os.makedirs(out, exist_ok=True)
    for name, w, h, seed in TRANSFORM_IMAGES:
        img = pattern(w, h, seed)
        (write_png if name.endswith(".png") else write_ppm)(os.path.join(out, name), img)
    shutil.copyfile(CAT, os.path.join(out, "cat.jpg"))


def frame(i):
    """Video frame i: 64 x 48, one of four pictures, so that classes change."""
    return pattern(64, 48, 100 + i % 4 * 17 + i // 4)


def make_frames(out, n):
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        write_ppm(os.path.join(out, "frame%03d.ppm" % i), frame(i))


if __name__ == "__main__":
    what, out = sys.argv[1], sys.argv[2]
    if what == "folder":
        make_folder(out)
    elif what == "transform":
        make_transform(out)
    elif what == "frames":
        make_frames(out, int(sys.argv[3]))
    else:
        sys.exit("make_images.py folder|transform|frames DIR [N]")
