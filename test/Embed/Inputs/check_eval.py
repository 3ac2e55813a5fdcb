#!/usr/bin/env python3
"""Compares an evaluation with torchvision's (test/Embed/golden/eval.csv and eval.json).

    check_eval.py GOLDEN_DIR FOLDER REPORT.csv [STDOUT]

REPORT.csv is `EXE --eval FOLDER --eval-report REPORT.csv`'s (or EvalResult.write_csv's):
its rows must be the golden rows (paths relative to FOLDER), in the same order. STDOUT,
the executable's output, must state torchvision's top-1 and top-5 counts, overall and per
class. Prints "OK: N images" or what differs (exit 1).
"""
import csv
import json
import os
import re
import sys

golden_dir, folder, report = sys.argv[1:4]
stdout = open(sys.argv[4]).read() if len(sys.argv) > 4 else None
want = list(csv.reader(open(os.path.join(golden_dir, "eval.csv"))))
got = list(csv.reader(open(report)))
errors = []
if got[0] != want[0]:
    errors.append(f"header {got[0]} != {want[0]}")
if len(got) != len(want):
    errors.append(f"{len(got) - 1} rows, torchvision has {len(want) - 1}")
for g, w in zip(got[1:], want[1:]):
    path = os.path.relpath(g[0], folder)
    if [path] + g[1:] != w:
        errors.append(f"row {g} != torchvision's {w}")
if stdout is not None:
    summary = json.load(open(os.path.join(golden_dir, "eval.json")))
    n = summary["images"]
    for k in ("top1", "top5"):
        line = f"{k[:3]}-{k[3]}: {100 * summary[k] / n:.2f}% ({summary[k]}/{n})"
        if line not in stdout:
            errors.append(f"missing '{line}'")
    for i, c in enumerate(summary["per_class"]):
        pattern = (rf"^\s+{i}\s+{re.escape(c['class'])}\s+{c['images']}\s+"
                   rf"{100 * c['top1'] / c['images']:.2f}%\s+{100 * c['top5'] / c['images']:.2f}%$")
        if not re.search(pattern, stdout, re.M):
            errors.append(f"no per-class row for {c}")
if errors:
    print("MISMATCH:")
    for e in errors:
        print("  " + e)
    sys.exit(1)
print(f"OK: {len(got) - 1} images")
