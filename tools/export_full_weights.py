#!/usr/bin/python3
"""Writes a full-size check of one model: seeded weights, an input and PyTorch's output.

    export_full_weights.py MODEL OUT_DIR [--seed N] [--dtype f32|f16|bf16] [--batch B]

Needs torch. OUT_DIR receives, for MODEL at its full input size (1 x 3 x 224 x 224 for the
ImageNet models; see kiln_torch.models.INPUT_SHAPES):

    manifest.json, case.json   as in test/e2e/golden/ (tools/gen_e2e_golden.py)
    weights.safetensors        tools/seeded_weights.py's weights for that manifest and seed
    input.npy                  float32 input, U(-1, 1) from the seeded generator
    output.npy                 PyTorch eval() output in float64, cast to float32

Nothing here is committed (the weights are large); it verifies whole models locally:

    kiln compile models/resnet50.yaml -o rn50 --weights OUT_DIR/weights.safetensors
    ./rn50 --input OUT_DIR/input.npy --output y.npy
    tools/compare_npy.py y.npy OUT_DIR/output.npy --rel-l2 1e-4
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_e2e_golden import describe_output, write_case  # noqa: E402
from kiln_torch.models import INPUT_SHAPES, MODELS  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", choices=list(MODELS), metavar="MODEL",
                    help=f"one of: {', '.join(MODELS)}")
    ap.add_argument("outdir", metavar="OUT_DIR")
    ap.add_argument("--seed", type=int, default=0, help="weights seed (default: 0)")
    ap.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32",
                    help="stored weights dtype (default: f32)")
    ap.add_argument("--batch", type=int, default=1, help="default: 1")
    a = ap.parse_args()
    shape = [a.batch] + INPUT_SHAPES[a.model][1:]
    y = write_case(a.outdir, a.model, shape, a.dtype, a.seed, "weights.safetensors")
    print(f"{a.model} input {shape} -> {a.outdir}: {describe_output(y)}")


if __name__ == "__main__":
    main()
