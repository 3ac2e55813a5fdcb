#!/usr/bin/env python3
"""Prints the number of CUDA threads KILN_EMU_STATS=1 reports on stdin (a lit helper)."""
import re
import sys

text = sys.stdin.read()
m = re.search(r"threads\D*(\d+)", text, re.I)
if not m:
    sys.exit("no thread count in:\n" + text)
print(m.group(1))
