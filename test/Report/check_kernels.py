#!/usr/bin/env python3
"""Checks properties of `kiln report --after-fusion --format json` (a lit test helper).

    check_kernels.py REPORT.json [--max-kernels N] [--kind KIND=COUNT ...]
                     [--no-kind KIND ...] [--max-arena-ratio R]

Prints what it checked; exits 1 with the reason on the first violation.
"""
import argparse
import collections
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--max-kernels", type=int)
    ap.add_argument("--kind", action="append", default=[])
    ap.add_argument("--no-kind", action="append", default=[])
    ap.add_argument("--max-arena-ratio", type=float)
    a = ap.parse_args()
    r = json.load(open(a.report))
    kinds = collections.Counter(k["kind"] for k in r["kernels"])
    failures = []
    if a.max_kernels is not None and len(r["kernels"]) > a.max_kernels:
        failures.append(f"{len(r['kernels'])} kernels, more than {a.max_kernels}")
    for spec in a.kind:
        kind, count = spec.split("=")
        if kinds[kind] != int(count):
            failures.append(f"{kinds[kind]} {kind} kernels, expected {count}")
    for kind in a.no_kind:
        if kinds[kind]:
            failures.append(f"{kinds[kind]} {kind} kernels, expected none")
    ratio = r["arena_bytes"] / r["live_bytes"]
    if a.max_arena_ratio is not None and ratio > a.max_arena_ratio:
        failures.append(f"arena {r['arena_bytes']} is {ratio:.2f}x the liveness bound "
                        f"{r['live_bytes']}, more than {a.max_arena_ratio}")
    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print(f"{r['model']}: {len(r['kernels'])} kernels "
          f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}); "
          f"arena/bound {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
