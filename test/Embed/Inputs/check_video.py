#!/usr/bin/env python3
"""Checks `EXE --video --output-csv` against known frames (a lit helper).

    check_video.py VIDEO.csv GOLDEN_FRAMES.csv FPS EVERY [IMAGES.npy]

VIDEO.csv has a row per classified frame: frame, time, then class and probability of
each of the top k. The classes must be PyTorch's for those frames (GOLDEN_FRAMES.csv,
tools/gen_embed_golden.py), the times frame / FPS, the frames every EVERY-th; with
IMAGES.npy (the executable's --output for the frames as --image), the probabilities must be
its softmax, to the 6 digits printed. Prints "OK: N frames" or what differs (exit 1).
"""
import csv
import sys

import numpy as np

video, golden, fps, every = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
images = np.load(sys.argv[5]) if len(sys.argv) > 5 else None
rows = list(csv.reader(open(video)))
want = {int(r[0]): [int(c) for c in r[1:]] for r in list(csv.reader(open(golden)))[1:]}
errors = []
k = (len(rows[0]) - 2) // 2
if rows[0][:2] != ["frame", "time"] or k < 1:
    errors.append(f"header {rows[0]}")
frames = [int(r[0]) for r in rows[1:]]
if frames != list(range(0, len(want), every)):
    errors.append(f"frames {frames}")
for r in rows[1:]:
    f, t = int(r[0]), float(r[1])
    classes = [int(c) for c in r[2::2]]
    probs = [float(p) for p in r[3::2]]
    if abs(t - f / fps) > 1e-6:
        errors.append(f"frame {f} at {t} s, not {f / fps}")
    if classes != want[f][:k]:
        errors.append(f"frame {f}: classes {classes}, PyTorch's {want[f][:k]}")
    if images is not None:
        logits = images[f].astype(np.float64)
        p = np.exp(logits - logits.max())
        p /= p.sum()
        if any(abs(a - b) > 1e-6 for a, b in zip(probs, p[classes])):
            errors.append(f"frame {f}: probabilities {probs} vs --image's {p[classes]}")
if errors:
    print("MISMATCH:")
    for e in errors:
        print("  " + e)
    sys.exit(1)
print(f"OK: {len(frames)} frames")
