#!/usr/bin/python3
"""Generator of the committed e2e golden data test/e2e/golden/<case>/.

For every model of tools/kiln_torch/models.py, at a reduced input size (2 x 3 x 64 x 64 for
the ImageNet models, 2 x 784 for the MLPs, 2 x 1 x 28 x 28 for cnn; batch 2 on purpose), and
for two cases whose weights are stored as F16 (mobilenet_v2_f16) and BF16 (cnn_bf16), it
writes into test/e2e/golden/<case>/:

    manifest.json  the state_dict layout (names in order, shapes, kinds); the weights are not
                   committed: tests regenerate them with
                   tools/seeded_weights.py manifest.json -o W.safetensors --seed S --dtype D
    case.json      {"model", "input_shape", "weights_dtype" (D), "seed" (S, of the weights)}
    input.npy      float32 input, U(-1, 1): tensor "input" of the seeded generator, seed 0
    output.npy     PyTorch's eval() output in float64 from those exact weights (as rounded to
                   the stored dtype) and input, cast to float32

These files are committed golden data: keep them small (all cases < 1.5 MB; identical
input.npy and manifest.json files are stored once by git).

Regenerate (needs torch + torchvision; on Debian use the system python, which has them):

    /usr/bin/python3 tools/gen_e2e_golden.py test/e2e/golden                 # all cases
    /usr/bin/python3 tools/gen_e2e_golden.py OUTDIR resnet18 mobilenet_v2_f16 # a subset
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seeded_weights  # noqa: E402
from kiln_torch.models import INPUT_SHAPES, MODELS, build  # noqa: E402

BATCH = 2
IMAGENET_TEST_HW = 64          # reduced from 224 so the e2e tests stay fast

# Cases whose weights are stored in a reduced dtype: case name -> (model, dtype).
DTYPE_CASES = {"mobilenet_v2_f16": ("mobilenet_v2", "f16"),
               "cnn_bf16": ("cnn", "bf16")}


def e2e_input_shape(model, batch=BATCH, hw=IMAGENET_TEST_HW):
    """Input shape of |model| in the e2e tests: |batch| x default, with ImageNet models at hw."""
    shape = [batch] + INPUT_SHAPES[model][1:]
    if len(shape) == 4 and shape[1] == 3:
        shape[2:] = [hw, hw]
    return shape


# ----------------------------------------------------------------------------- manifest

def tensor_kind(module, param):
    """Kind (see seeded_weights.py) of state_dict entry |param| of |module|."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return {"weight": "bn_weight", "bias": "bn_bias", "running_mean": "running_mean",
                "running_var": "running_var"}.get(param, "other")
    if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)) and param in ("weight", "bias"):
        return param
    return "other"


def make_manifest(model_name, model):
    """The manifest of |model|: its state_dict layout without num_batches_tracked."""
    modules = dict(model.named_modules())
    tensors = []
    for key, value in model.state_dict().items():
        path, _, param = key.rpartition(".")
        if param == "num_batches_tracked":
            continue
        tensors.append({"name": key, "shape": list(value.shape),
                        "kind": tensor_kind(modules[path], param)})
    return {"model": model_name, "tensors": tensors}


def manifest_json(manifest):
    """Compact JSON with one tensor per line, so diffs stay readable."""
    c = lambda v: json.dumps(v, separators=(",", ":"))
    rows = ",\n".join(c(t) for t in manifest["tensors"])
    return f'{{"model":{c(manifest["model"])},"tensors":[\n{rows}\n]}}\n'


# ----------------------------------------------------------------------------- reference

def seeded_input(shape, seed=0):
    """The float32 test input of |shape|: U(-1, 1) drawn as tensor "input" of the generator."""
    return seeded_weights.uniform(seed, "input", shape, 0.0, 1.0)


def reference_output(model, weights, x):
    """PyTorch eval() output of |model| with |weights| ({name: float32 array}) on |x|,
    computed in float64 and returned as float32."""
    state = {k: torch.from_numpy(np.asarray(v, dtype=np.float64)) for k, v in weights.items()}
    model = model.double().eval()
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise RuntimeError(f"state_dict mismatch: missing {missing}, unexpected {unexpected}")
    with torch.no_grad():
        y = model(torch.from_numpy(x.astype(np.float64)))
    return y.numpy().astype(np.float32)


def write_case(d, model_name, shape, dtype="f32", seed=0, weights_file=None):
    """Write manifest.json, case.json, input.npy and output.npy of one case into directory
    |d| (and the weights as |weights_file| there, if given); returns the output array."""
    model = build(model_name)
    manifest = make_manifest(model_name, model)
    weights = seeded_weights.generate(manifest, seed, dtype)
    x = seeded_input(shape)
    y = reference_output(model, weights, x)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "manifest.json"), "w") as f:
        f.write(manifest_json(manifest))
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump({"model": model_name, "input_shape": shape, "weights_dtype": dtype,
                   "seed": seed}, f)
        f.write("\n")
    np.save(os.path.join(d, "input.npy"), x)
    np.save(os.path.join(d, "output.npy"), y)
    if weights_file:
        seeded_weights.write_safetensors(os.path.join(d, weights_file), weights, dtype,
                                         {"format": "pt", "model": model_name, "seed": seed})
    return y


def describe_output(y):
    """One line of statistics of output |y|: shape, std, largest magnitude and, for a batch,
    how much it varies across the batch relative to its std (near 0 if the input is ignored)."""
    std = float(y.std())
    line = f"output {list(y.shape)}: std {std:.4g}, max |y| {np.abs(y).max():.4g}"
    if y.shape[0] > 1 and std > 0:
        line += f", batch variation {float(y.std(axis=0).mean()) / std:.3f}"
    return line


def main():
    cases = {**{m: (m, "f32") for m in MODELS}, **DTYPE_CASES}
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("cases", nargs="*", default=list(cases),
                    help=f"default: all ({', '.join(cases)})")
    a = ap.parse_args()
    unknown = [c for c in a.cases if c not in cases]
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(cases)}")
    torch.set_num_threads(os.cpu_count() or 1)
    for case in a.cases:
        model_name, dtype = cases[case]
        y = write_case(os.path.join(a.outdir, case), model_name, e2e_input_shape(model_name),
                       dtype)
        print(f"{case:20s} {describe_output(y)}")


if __name__ == "__main__":
    main()
