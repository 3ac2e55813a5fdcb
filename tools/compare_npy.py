#!/usr/bin/python3
"""Compares an actual .npy result with the expected one (numpy + stdlib only).

    compare_npy.py ACTUAL.npy EXPECTED.npy [--rel-l2 1e-5] [--max-abs X]

Prints both shapes, the relative L2 error ||a - e|| / ||e|| and the largest absolute error,
then PASS or FAIL. Exits 1 when the shapes differ, when ACTUAL holds NaN or Inf, or when the
relative L2 error exceeds --rel-l2 (or the max abs error exceeds --max-abs, if given); exits 2
on unreadable files. Used by the e2e lit tests: `%python compare_npy.py out.npy golden.npy`.
"""
import argparse
import sys

import numpy as np


def compare(actual, expected, rel_l2, max_abs=None):
    """Returns (passed, report lines) for arrays |actual| and |expected|."""
    lines = [f"actual:   shape {list(actual.shape)} dtype {actual.dtype}",
             f"expected: shape {list(expected.shape)} dtype {expected.dtype}"]
    if actual.shape != expected.shape:
        return False, lines + [f"FAIL: shape mismatch: actual {list(actual.shape)} "
                               f"!= expected {list(expected.shape)}"]
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    bad = int(np.count_nonzero(~np.isfinite(a)))
    if bad:
        first = np.unravel_index(np.flatnonzero(~np.isfinite(a))[0], a.shape)
        return False, lines + [f"FAIL: actual has {bad} NaN/Inf value(s), first at index "
                               f"{list(map(int, first))}"]
    diff = a - e
    norm_d, norm_e = np.linalg.norm(diff), np.linalg.norm(e)
    rel = norm_d / norm_e if norm_e > 0 else (0.0 if norm_d == 0 else np.inf)
    worst = float(np.abs(diff).max()) if diff.size else 0.0
    where = list(map(int, np.unravel_index(np.abs(diff).argmax(), a.shape))) if diff.size else []
    lines.append(f"rel_l2 = {rel:.3e} (tolerance {rel_l2:.1e})")
    lines.append(f"max_abs = {worst:.3e} at {where}"
                 + (f" (tolerance {max_abs:.1e})" if max_abs is not None else ""))
    passed = rel <= rel_l2 and (max_abs is None or worst <= max_abs)
    return passed, lines + ["PASS" if passed else "FAIL: error above tolerance"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("actual")
    ap.add_argument("expected")
    ap.add_argument("--rel-l2", type=float, default=1e-5,
                    help="largest accepted ||a - e|| / ||e|| (default: 1e-5)")
    ap.add_argument("--max-abs", type=float, default=None,
                    help="largest accepted |a - e| (default: not checked)")
    a = ap.parse_args(argv)
    try:
        actual, expected = np.load(a.actual), np.load(a.expected)
    except (OSError, ValueError) as err:
        print(f"error: cannot read .npy: {err}", file=sys.stderr)
        return 2
    passed, lines = compare(actual, expected, a.rel_l2, a.max_abs)
    print("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
