#!/usr/bin/env python3
"""Checks kiln's image transform against torchvision's (test/Embed/golden/transform.json).

    check_transform.py KILN_INSPECT GOLDEN.json DIR [--shift-resize]

For each case (a picture of DIR, made by make_images.py transform; Resize, CenterCrop,
mean, std) it runs `kiln-inspect image` with those options and compares the SHA-256 of the
float32 result with torchvision's. Prints "OK: N cases" or the cases that differ (exit 1).
--shift-resize adds 1 to every resize, which must make every case differ (the check can
fail).
"""
import hashlib
import json
import os
import subprocess
import sys

inspect, golden, folder = sys.argv[1:4]
shift = "--shift-resize" in sys.argv
cases = json.load(open(golden))
bad = []
for i, c in enumerate(cases):
    resize = c["resize"]
    if shift:
        resize = resize + 1 if isinstance(resize, int) else [resize[0] + 1, resize[1]]
    out = os.path.join(folder, "case%d.npy" % i)
    r = subprocess.run([inspect, "image", os.path.join(folder, c["file"]), "-o", out,
                        "--resize", str(resize) if isinstance(resize, int) else
                        "%d,%d" % tuple(resize), "--crop", str(c["crop"]),
                        "--mean", ",".join(map(repr, c["mean"])),
                        "--std", ",".join(map(repr, c["std"]))],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit("kiln-inspect failed: " + r.stdout)
    data = open(out, "rb").read()
    header = int.from_bytes(data[8:10], "little")
    digest = hashlib.sha256(data[10 + header:]).hexdigest()
    if digest != c["sha256"]:
        bad.append(f"{c['file']} resize {c['resize']} crop {c['crop']} mean {c['mean']} "
                   f"std {c['std']}")
if bad:
    print(f"MISMATCH: {len(bad)} of {len(cases)} cases")
    for b in bad:
        print("  " + b)
    sys.exit(1)
print(f"OK: {len(cases)} cases")
