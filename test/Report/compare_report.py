#!/usr/bin/env python3
"""Compares `kiln report --format json` output with torchsummaryX golden data.

Usage: compare_report.py ACTUAL.json GOLDEN.json

The golden files in test/Report/golden/ come from PyTorch (tools/gen_report_golden.py).
Every row must match exactly: name, torchsummaryX key, class, kernel shape, output shape,
params and Mult-Adds, in call order; so must the totals. Prints the first differences and
exits 1 on any mismatch.
"""
import json
import sys

FIELDS = ["name", "layer", "class", "kernel_shape", "output_shape", "params", "mult_adds"]


def main():
    actual, golden = (json.load(open(p)) for p in sys.argv[1:3])
    errors = []
    for key in ["model", "input_shape", "total_params", "total_mult_adds"]:
        if actual.get(key) != golden.get(key):
            errors.append(f"{key}: kiln {actual.get(key)!r}, PyTorch {golden.get(key)!r}")
    rows_a, rows_g = actual["layers"], golden["layers"]
    if len(rows_a) != len(rows_g):
        errors.append(f"row count: kiln {len(rows_a)}, PyTorch {len(rows_g)}")
    for i, (a, g) in enumerate(zip(rows_a, rows_g)):
        for f in FIELDS:
            if a.get(f) != g.get(f):
                errors.append(f"row {i} ({g['layer']}) {f}: kiln {a.get(f)!r}, PyTorch {g.get(f)!r}")
    for e in errors[:20]:
        print(e)
    if errors:
        print(f"{len(errors)} difference(s)")
        return 1
    print(f"{golden['model']}: {len(rows_g)} rows match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
