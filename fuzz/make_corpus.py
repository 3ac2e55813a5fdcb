#!/usr/bin/env python3
"""Writes the small seed corpora of the fuzz harnesses into fuzz/corpus/.

Run once with Debian's python3 (numpy, PIL); the files are committed, so the
fuzz build needs neither. Seeds are valid files of each format in the
variants the readers accept (every .npy version, every safetensors dtype,
JPEG baseline/progressive/grayscale, PNG gray/palette/alpha/16-bit, PPM/PGM)
plus the models' YAML: libFuzzer mutates from there.
"""
import io
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(ROOT)


def out(kind, name, data):
    d = os.path.join(ROOT, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy():
    rng = np.random.default_rng(0)
    for name, a in [("vec", rng.standard_normal(5).astype("<f4")),
                    ("nchw", rng.standard_normal((1, 2, 3, 3)).astype("<f4")),
                    ("scalar", np.array(1.5, "<f4")),
                    ("empty", np.zeros((0, 3), "<f4")),
                    ("fortran", np.asfortranarray(np.ones((2, 3), "<f4"))),
                    ("f8", np.ones(3, "<f8"))]:
        b = io.BytesIO()
        np.save(b, a)
        out("npy", name + ".npy", b.getvalue())
    # Version 2.0: 4-byte header length.
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    header += " " * ((64 - (12 + len(header) + 1) % 64) % 64) + "\n"
    out("npy", "v2.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) +
        header.encode() + np.ones(2, "<f4").tobytes())


def safetensors():
    dtypes = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8",
              "U8": "u1", "BOOL": "?"}
    rng = np.random.default_rng(1)

    def write(name, tensors, metadata=None):
        header, blobs, offset = {}, [], 0
        if metadata is not None:
            header["__metadata__"] = metadata
        for key, (dtype, shape) in tensors.items():
            raw = (rng.standard_normal(shape) if dtype.startswith("F")
                   else np.ones(shape)).astype(dtypes.get(dtype, "<f4")).tobytes()
            if dtype == "BF16":
                raw = (np.frombuffer(np.ones(shape, "<f4").tobytes(), "<u4") >> 16
                       ).astype("<u2").tobytes()
            header[key] = {"dtype": dtype, "shape": list(shape),
                           "data_offsets": [offset, offset + len(raw)]}
            blobs.append(raw)
            offset += len(raw)
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * ((8 - len(text) % 8) % 8)
        out("safetensors", name + ".safetensors",
            struct.pack("<Q", len(text)) + text + b"".join(blobs))

    write("model", {"conv.weight": ("F32", (4, 3, 3, 3)), "bn.weight": ("F32", (4,)),
                    "bn.running_var": ("F32", (4,)),
                    "bn.num_batches_tracked": ("I64", ()),
                    "fc.weight": ("F32", (2, 4)), "fc.bias": ("F32", (2,))})
    write("f16", {"fc.weight": ("F16", (2, 4)), "fc.bias": ("BF16", (2,))},
          {"format": "pt"})
    write("f64", {"fc.weight": ("F64", (2, 4)), "mask": ("BOOL", (3,)),
                  "ids": ("U8", (2,))})
    write("empty", {})


def images():
    rng = np.random.default_rng(2)
    rgb = Image.fromarray(rng.integers(0, 255, (13, 17, 3), dtype=np.uint8))

    def save(name, image, fmt, **kw):
        b = io.BytesIO()
        image.save(b, fmt, **kw)
        out("image", name, b.getvalue())

    save("rgb.jpg", rgb, "JPEG", quality=90)
    save("progressive.jpg", rgb, "JPEG", progressive=True, quality=50)
    save("gray.jpg", rgb.convert("L"), "JPEG")
    save("subsample.jpg", rgb, "JPEG", subsampling=2)
    save("rgb.png", rgb, "PNG")
    save("gray.png", rgb.convert("L"), "PNG")
    save("alpha.png", rgb.convert("RGBA"), "PNG")
    save("palette.png", rgb.convert("P"), "PNG")
    save("interlaced.png", rgb, "PNG", interlace=1)
    save("rgb.ppm", rgb, "PPM")
    save("gray.pgm", rgb.convert("L"), "PPM")
    out("image", "maxval.ppm", b"P6\n2 1\n1023\n" + bytes(12))
    save("cmyk.jpg", rgb.convert("CMYK"), "JPEG")


def yaml():
    for d in ("models", "models/blocks", "test/Frontend"):
        for name in sorted(os.listdir(os.path.join(REPO, d))):
            if name.endswith(".yaml"):
                shutil.copy(os.path.join(REPO, d, name),
                            os.path.join(ROOT, "corpus", "yaml",
                                         d.replace("/", "_") + "_" + name))


def onnx():
    """ONNX seeds: the small exported models of the e2e tests (the weights of external
    cases are absent, which the reader must refuse cleanly), and the hand-written test
    models of test/Frontend/Onnx encoded with protoc."""
    golden = os.path.join(REPO, "test", "e2e", "onnx", "golden")
    for case in ("tiny_folded", "tiny_ops", "cnn", "batch_net", "silu_net", "resnet18"):
        shutil.copy(os.path.join(golden, case, "model.onnx"),
                    os.path.join(ROOT, "corpus", "onnx", case + ".onnx"))
    proto = ["protoc", "--encode=onnx.ModelProto", "-I/usr/include",
             "/usr/include/onnx/onnx.proto"]
    tests = os.path.join(REPO, "test", "Frontend", "Onnx")
    for name in sorted(os.listdir(tests)) + ["Inputs/relu.textproto"]:
        path = os.path.join(tests, name)
        if not os.path.isfile(path):
            continue
        text = open(path).read().replace("LOCATION", "model.onnx").replace("OPSET", "13")
        data = subprocess.run(proto, input=text.encode(), stdout=subprocess.PIPE,
                              check=True).stdout
        out("onnx", "text_" + os.path.basename(name).split(".")[0], data)


if __name__ == "__main__":
    os.makedirs(os.path.join(ROOT, "corpus", "yaml"), exist_ok=True)
    npy()
    safetensors()
    images()
    yaml()
    os.makedirs(os.path.join(ROOT, "corpus", "onnx"), exist_ok=True)
    onnx()
    sys.exit(0)
