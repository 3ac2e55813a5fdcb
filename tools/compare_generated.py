#!/usr/bin/env python3
"""compare_generated.py BEFORE AFTER: diffs two tools/dump_generated.sh
folders up to names: kiln_step_N functions are renumbered in order of first
appearance (a change may split the same code into a different number of
inline steps). Prints the files that differ; exits 1 if any does."""
import pathlib
import re
import sys


def normalized(path):
    names = {}
    text = path.read_text()
    return re.sub(r"kiln_step_\d+",
                  lambda m: names.setdefault(m.group(0), f"kiln_step_{len(names)}"),
                  text)


before, after = map(pathlib.Path, sys.argv[1:3])
differ = 0
for old in sorted(before.iterdir()):
    new = after / old.name
    if not new.exists() or normalized(old) != normalized(new):
        print(f"differs: {old.name}")
        differ += 1
print(f"{len(list(before.iterdir())) - differ} same, {differ} different")
sys.exit(1 if differ else 0)
