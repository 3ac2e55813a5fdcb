#!/usr/bin/python3
"""Checks kiln's image preprocessing against torchvision's, bit for bit.

For a set of generated images (gradients, noise, sharp edges and one-pixel stripes; many
sizes and aspect ratios; PNG, JPEG, PPM/PGM; RGB, grayscale, RGBA, gray+alpha, palette,
16-bit; JPEG 4:2:0, 4:2:2, 4:4:4, 4:4:0, progressive, restart markers, CMYK, RGB) it runs

    torchvision: Image.open(f).convert('RGB')        (torchvision.datasets.folder.pil_loader)
                 -> Resize(256) -> CenterCrop(224) -> ToTensor() -> Normalize(mean, std)
    kiln:        kiln-inspect image f -o out.npy

and prints the largest absolute difference of the two 1x3x224x224 tensors, the same in uint8
levels (difference * std * 255) and how many values differ. Every image must match exactly,
except one documented Pillow 9.4 quirk (a 16-bit PGM opens as mode I, which convert('RGB')
clips at 255 instead of scaling). For JPEG, the
same check is also run on a PNG of PIL's decoded pixels, which separates a decoder
difference from a transform difference when something fails.

The JPEG 4:4:0, restart-marker and RGB cases need libjpeg-turbo's jpegtran and cjpeg (Debian
libjpeg-turbo-progs); they are skipped when those are missing.

Needs torch + torchvision + PIL: on Debian use the system python.

    /usr/bin/python3 tools/check_image_transform.py build/bin/kiln-inspect [--keep DIR]

Exits with status 1 if any image differs unexpectedly.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

TRANSFORM = transforms.Compose([
    transforms.Resize(256),
    transforms.CenterCrop(224),
    transforms.ToTensor(),
    transforms.Normalize(MEAN, STD),
])

EXACT, JPEG, PIL_BUG = "exact", "jpeg", "pil-bug"


def synthetic_rgb(width, height, seed):
    """An RGB test picture: smooth gradients, uniform noise, hard-edged shapes, fine stripes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 255 * x / max(width - 1, 1)
    g = 255 * y / max(height - 1, 1)
    b = 127.5 + 127.5 * np.sin(x / 7.0) * np.cos(y / 11.0)
    img = np.stack([r, g, b], axis=-1)
    img += rng.uniform(-40, 40, size=img.shape)
    # Sharp-edged rectangles and a disc, in saturated colours.
    for _ in range(6):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        x1 = x0 + rng.integers(1, max(2, width // 3))
        y1 = y0 + rng.integers(1, max(2, height // 3))
        img[y0:y1, x0:x1] = rng.choice([0, 255], size=3)
    cx, cy, rad = width / 2, height / 2, min(width, height) / 4
    img[(x - cx) ** 2 + (y - cy) ** 2 < rad ** 2] = (255, 0, 255)
    # One-pixel stripes: the worst case for a resampling filter.
    img[:, : width // 8][:, ::2] = 0
    img[: height // 8][::2] = 255
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")


def write_png16(path, rgb16):
    """A 16-bit RGB PNG (PIL cannot write one): IHDR, one zlib IDAT, IEND."""
    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    h, w, _ = rgb16.shape
    raw = b"".join(b"\0" + rgb16[y].astype(">u2").tobytes() for y in range(h))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw)))
        f.write(chunk(b"IEND", b""))


def write_pnm(path, im, maxval):
    """A binary PPM/PGM of |im| rescaled to 0..|maxval| (16-bit big-endian above 255)."""
    a = np.rint(np.asarray(im).astype(np.float64) * maxval / 255)
    a = a.astype(">u2" if maxval > 255 else np.uint8)
    magic = b"P6" if im.mode == "RGB" else b"P5"
    with open(path, "wb") as f:
        f.write(magic + b"\n# kiln test\n%d %d\n%d\n" % (im.size[0], im.size[1], maxval))
        f.write(a.tobytes())


def make_images(outdir):
    """Writes the test images; returns [(file name, EXACT | JPEG | PIL_BUG)]."""
    files = []

    def save(im, name, kind=EXACT, **kw):
        im.save(os.path.join(outdir, name), **kw)
        files.append((name, kind))

    # PNG in many shapes: downscale, upscale (100x80, 1x1), one axis unchanged (256x300),
    # no resize at all (256x256), odd crop offsets (231x300: 2.5 rounds to 2).
    sizes = [(500, 375), (375, 500), (256, 256), (1000, 1000), (231, 300), (3000, 200),
             (200, 3000), (257, 256), (256, 300), (300, 256), (224, 224), (100, 80), (1, 1),
             (640, 480), (1023, 767)]
    for i, (w, h) in enumerate(sizes):
        save(synthetic_rgb(w, h, i), f"rgb_{w}x{h}.png")

    # Other pixel formats, each converted as PIL's convert('RGB') does.
    base = synthetic_rgb(500, 375, 100)
    save(base, "rgb_500x375.ppm")
    save(base.convert("L"), "gray_500x375.pgm")
    save(base.convert("L"), "gray_500x375.png")
    rgba = synthetic_rgb(375, 500, 101).convert("RGBA")
    alpha = np.linspace(0, 255, 375 * 500).reshape(500, 375).astype(np.uint8)
    rgba.putalpha(Image.fromarray(alpha, "L"))
    save(rgba, "rgba_375x500.png")
    save(rgba.convert("LA"), "la_375x500.png")
    save(base.quantize(64), "palette_500x375.png")
    save(base.quantize(16), "palette_trns_500x375.png", transparency=3)
    rgb16 = (np.asarray(synthetic_rgb(333, 250, 102)).astype(np.uint16) * 257 +
             np.random.default_rng(5).integers(0, 256, (250, 333, 3)).astype(np.uint16))
    write_png16(os.path.join(outdir, "rgb16_333x250.png"), rgb16)
    files.append(("rgb16_333x250.png", EXACT))
    write_pnm(os.path.join(outdir, "gray_maxval100_231x300.pgm"),
              synthetic_rgb(231, 300, 105).convert("L"), 100)
    files.append(("gray_maxval100_231x300.pgm", EXACT))
    write_pnm(os.path.join(outdir, "rgb_maxval1000_300x231.ppm"), synthetic_rgb(300, 231, 104), 1000)
    files.append(("rgb_maxval1000_300x231.ppm", EXACT))
    write_pnm(os.path.join(outdir, "gray_maxval4095_300x231.pgm"),
              synthetic_rgb(300, 231, 108).convert("L"), 4095)
    files.append(("gray_maxval4095_300x231.pgm", PIL_BUG))

    # JPEG: subsampling 2 = 4:2:0, 1 = 4:2:2, 0 = 4:4:4; odd and tiny sizes exercise the
    # upsampling edges (chroma 2 samples wide or less is not "fancy" upsampled).
    for q, sub, prog in [(90, 2, False), (75, 0, False), (95, 1, False), (85, 2, True)]:
        save(base, f"jpeg_q{q}_sub{sub}{'_prog' if prog else ''}_500x375.jpg", JPEG,
             quality=q, subsampling=sub, progressive=prog)
    for (w, h), sub in [((3000, 200), 2), ((231, 300), 2), ((301, 233), 1), ((1, 1), 2),
                        ((3, 5), 2), ((4, 7), 1), ((5, 3), 2), ((17, 9), 2), ((640, 480), 2)]:
        save(synthetic_rgb(w, h, 106 + w), f"jpeg_sub{sub}_{w}x{h}.jpg", JPEG,
             quality=90, subsampling=sub)
    save(synthetic_rgb(17, 9, 107), "jpeg_prog_17x9.jpg", JPEG, quality=80, subsampling=2,
         progressive=True)
    save(base.convert("L"), "jpeg_gray_500x375.jpg", JPEG, quality=90)
    save(base.convert("CMYK"), "jpeg_cmyk_500x375.jpg", JPEG, quality=90)
    save(base, "jpeg_q5_500x375.jpg", JPEG, quality=5)  # large coefficients, clamped IDCT
    src = os.path.join(outdir, "jpeg_q95_sub1_500x375.jpg")
    ppm = os.path.join(outdir, "rgb_500x375.ppm")
    for name, cmd in [("jpeg_440_375x500.jpg", ["jpegtran", "-transpose", src]),
                      ("jpeg_restart_500x375.jpg", ["cjpeg", "-quality", "90", "-restart", "3", ppm]),
                      ("jpeg_rgb_500x375.jpg", ["cjpeg", "-quality", "90", "-rgb", ppm])]:
        if shutil.which(cmd[0]):
            with open(os.path.join(outdir, name), "wb") as f:
                subprocess.run(cmd, stdout=f, check=True)
            files.append((name, JPEG))
        else:
            print(f"skipping {name}: {cmd[0]} not found")
    return files


def torchvision_reference(path):
    with open(path, "rb") as f:
        img = Image.open(f).convert("RGB")
    return TRANSFORM(img).unsqueeze(0).numpy()


def kiln(tool, path, out):
    subprocess.run([tool, "image", path, "-o", out], check=True, stdout=subprocess.DEVNULL)
    return np.load(out)


def compare(ref, got):
    """(max abs difference, max difference in uint8 levels, count of differing values)."""
    diff = np.abs(ref.astype(np.float64) - got.astype(np.float64))
    levels = diff * np.array(STD).reshape(1, 3, 1, 1) * 255
    return diff.max(), levels.max(), int((diff > 0).sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kiln_inspect", help="path of the kiln-inspect binary")
    parser.add_argument("--keep", metavar="DIR", help="write the images to DIR and keep them")
    args = parser.parse_args()
    torch.set_num_threads(1)

    workdir = args.keep or tempfile.mkdtemp(prefix="kiln-image-check-")
    os.makedirs(workdir, exist_ok=True)
    try:
        files = make_images(workdir)
        out = os.path.join(workdir, "out.npy")
        failures = 0
        print(f"{'image':32} {'size':>9} {'max |diff|':>10} {'uint8 levels':>12} {'differ':>7}")
        for name, kind in files:
            path = os.path.join(workdir, name)
            ref = torchvision_reference(path)
            got = kiln(args.kiln_inspect, path, out)
            size = "x".join(map(str, Image.open(path).size))
            if got.shape != ref.shape:
                print(f"{name:32} {size:>9} shape {got.shape} != {ref.shape}")
                failures += 1
                continue
            d, lv, n = compare(ref, got)
            note = ""
            if kind == PIL_BUG:
                note = "  expected: Pillow 9.4 clips a 16-bit PGM (mode I) at 255"
            elif d != 0:
                failures += 1
                note = "  MISMATCH"
            print(f"{name:32} {size:>9} {d:10.3g} {lv:12.3f} {n:7d}{note}")
            if kind == JPEG:
                # The same pixels, decoded by PIL and stored losslessly: isolates the decoder.
                png = os.path.join(workdir, name + ".pil-decoded.png")
                Image.open(path).convert("RGB").save(png)
                d2, lv2, n2 = compare(ref, kiln(args.kiln_inspect, png, out))
                if d2 != 0 or d != 0:
                    print(f"{'  PIL-decoded pixels as PNG':32} {'':>9} {d2:10.3g} {lv2:12.3f} {n2:7d}")
                failures += d2 != 0
    finally:
        if not args.keep:
            shutil.rmtree(workdir)
    print(f"FAIL: {failures} image(s) differ" if failures else
          f"OK: all {len(files)} images match torchvision exactly (but the expected one)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
