#!/usr/bin/python3
"""Generator of the committed golden data test/Report/golden/*.json.

Each file is what torchsummaryX reports for one PyTorch reference model (rows in call order,
per-layer kernel shape, output shape, params, Mult-Adds, and the totals); `kiln report
--format json` is checked against it. Regenerate (needs torch + torchvision; on Debian use
the system python, which has them):

    /usr/bin/python3 tools/gen_report_golden.py test/Report/golden            # all models
    /usr/bin/python3 tools/gen_report_golden.py OUTDIR --batch 4 resnet18 cnn  # a subset

Weights are random; nothing here depends on their values.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_torch.models import INPUT_SHAPES, MODELS, build  # noqa: E402
from kiln_torch.summary import summary  # noqa: E402

FIELDS = ["name", "layer", "class", "kernel_shape", "output_shape", "params", "mult_adds"]


def to_json(model_name, input_shape, s):
    """Compact JSON with one layer per line, so diffs of the golden files stay readable."""
    c = lambda v: json.dumps(v, separators=(",", ":"))
    layers = ",\n".join("  " + c({k: row[k] for k in FIELDS}) for row in s["layers"])
    return (f'{{"model":{c(model_name)},"input_shape":{c(input_shape)},\n'
            f'"layers":[\n{layers}\n],\n'
            f'"total_params":{s["total_params"]},"total_mult_adds":{s["total_mult_adds"]}}}\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("models", nargs="*", default=list(MODELS), help="default: all")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    torch.manual_seed(0)
    for name in a.models:
        shape = [a.batch] + INPUT_SHAPES[name][1:]
        s = summary(build(name), torch.randn(shape))
        with open(os.path.join(a.outdir, name + ".json"), "w") as f:
            f.write(to_json(name, shape, s))
        print(f"{name:20s} rows={len(s['layers']):4d} params={s['total_params']:,} "
              f"mult_adds={s['total_mult_adds']:,}")


if __name__ == "__main__":
    main()
