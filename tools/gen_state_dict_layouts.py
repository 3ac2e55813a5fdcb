#!/usr/bin/python3
"""Records each e2e case's PyTorch state_dict layout as torch itself reports it (needs torch).

    /usr/bin/python3 tools/gen_state_dict_layouts.py test/e2e/golden [CASE ...]

For test/e2e/golden/<case>/ (all cases, or those named) it writes state_dict.json:

    {"model": "resnet18", "torch": "<version>", "tensors": [
     {"name": "conv1.weight", "dtype": "F32", "shape": [64, 3, 7, 7]},
     {"name": "bn1.num_batches_tracked", "dtype": "I64", "shape": [], "value": 0}, ...]}

every entry of model.state_dict() in its order, buffers included, with the safetensors dtype
name of the tensor as torch holds it. manifest.json (the seeded weights' layout) leaves the
num_batches_tracked buffers out; this file keeps them, so that the tests can write the weights
exactly as a user's `safetensors.torch.save_file(model.state_dict(), path)` does
(seeded_weights.py --state-dict; test/e2e/state_dict/). Integer buffers record their value.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kiln_torch.models import build  # noqa: E402

ST_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
            torch.float64: "F64", torch.int64: "I64", torch.int32: "I32",
            torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}


def layout(model_name):
    model = build(model_name)
    rows = []
    for name, t in model.state_dict().items():
        row = {"name": name, "dtype": ST_DTYPE[t.dtype], "shape": list(t.shape)}
        if not t.dtype.is_floating_point:
            row["value"] = int(t.item()) if t.numel() == 1 else t.tolist()
        rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("golden", help="test/e2e/golden")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()
    cases = a.cases or sorted(d for d in os.listdir(a.golden)
                              if os.path.exists(os.path.join(a.golden, d, "case.json")))
    for case in cases:
        d = os.path.join(a.golden, case)
        model = json.load(open(os.path.join(d, "case.json")))["model"]
        rows = layout(model)
        text = ",\n".join(json.dumps(r, separators=(", ", ": ")) for r in rows)
        with open(os.path.join(d, "state_dict.json"), "w") as f:
            f.write(f'{{"model": {json.dumps(model)}, "torch": {json.dumps(torch.__version__)}, '
                    f'"tensors": [\n{text}\n]}}\n')
        print(f"{case}: {len(rows)} entries")


if __name__ == "__main__":
    main()
