#!/usr/bin/python3
"""Converts a PyTorch .pth / .pth.tar weights file into safetensors for kiln (needs torch).

    convert_pth.py IN.pth[.tar] [-o OUT.safetensors]      (default OUT: IN with .safetensors)

THIS IS THE ONLY PLACE IN KILN THAT UNPICKLES. kiln itself reads safetensors only (DESIGN.md
§1.2). A .pth file is a Python pickle, and torch.load(path, map_location="cpu") -- torch 1.13
has no weights_only default -- can execute arbitrary code while loading it: convert only files
from sources you trust, and then use the .safetensors file.

Accepted layouts:
  * a bare state_dict: {name: tensor};
  * a checkpoint dict holding the state_dict under "state_dict", "model_state_dict" or "model"
    (tried in this order; the first whose value is a dict wins; other entries such as "epoch"
    or "optimizer" are ignored).
Not accepted: a whole pickled nn.Module, or any other object.

Conversion:
  * a "module." prefix on every key (left by nn.DataParallel) is stripped;
  * "num_batches_tracked" buffers are dropped (kiln ignores them);
  * F32, F16 and BF16 tensors keep their dtype; F64 tensors are stored as F32;
  * other entries (integer or bool tensors, non-tensor values) are errors, all listed at once.
The file is written by seeded_weights.write_safetensors, the writer of the seeded weights.
"""
import argparse
import os
import sys
from collections.abc import Mapping

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seeded_weights import write_safetensors  # noqa: E402

CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model")
_DTYPES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
           torch.float64: "f32"}


class ConversionError(Exception):
    pass


def find_state_dict(obj):
    """The state_dict inside the unpickled |obj|, and a word on where it was found."""
    if not isinstance(obj, Mapping):
        raise ConversionError(f"expected a state_dict or a checkpoint dict, got "
                              f"{type(obj).__module__}.{type(obj).__name__}")
    for key in CHECKPOINT_KEYS:
        if isinstance(obj.get(key), Mapping):
            return obj[key], f"checkpoint entry {key!r}"
    return obj, "bare state_dict"


def convert_state_dict(state):
    """{name: (float32 numpy array, stored dtype)} of |state|; see the module docstring."""
    keys = list(state)
    strip = bool(keys) and all(isinstance(k, str) and k.startswith("module.") for k in keys)
    out, errors = {}, []
    for key, value in state.items():
        name = key[len("module."):] if strip else key
        if isinstance(name, str) and name.rpartition(".")[2] == "num_batches_tracked":
            continue
        if not isinstance(value, torch.Tensor):
            errors.append(f"{key!r}: a {type(value).__name__}, not a tensor")
        elif value.dtype not in _DTYPES:
            errors.append(f"{key!r}: dtype {value.dtype} (only float32, float16, bfloat16 "
                          f"and float64 tensors are weights)")
        else:
            out[str(name)] = (value.detach().cpu().float().contiguous().numpy(),
                              _DTYPES[value.dtype])
    if errors:
        raise ConversionError(f"{len(errors)} entr{'y' if len(errors) == 1 else 'ies'} cannot "
                              "be converted:\n  " + "\n  ".join(errors))
    return out, strip


def convert(src, dst, verbose=True):
    """Convert |src| (.pth) into |dst| (.safetensors); returns the number of tensors."""
    if verbose:
        print(f"note: unpickling {src} with torch.load; a pickle can run arbitrary code, so only "
              "convert files you trust (this script is the only place kiln unpickles)",
              file=sys.stderr)
    obj = torch.load(src, map_location="cpu")
    state, where = find_state_dict(obj)
    tensors, stripped = convert_state_dict(state)
    write_safetensors(dst, tensors, metadata={"format": "pt",
                                              "source": os.path.basename(src)})
    if verbose:
        dtypes = [dt for _, dt in tensors.values()]
        counts = ", ".join(f"{dtypes.count(d)} {d}" for d in dict.fromkeys(dtypes))
        print(f"{dst}: {len(tensors)} tensors ({counts}) from the {where}"
              + ("; stripped the 'module.' prefix" if stripped else ""))
    return len(tensors)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", help=".pth or .pth.tar file (trusted: it is unpickled)")
    ap.add_argument("-o", "--output", help="default: INPUT with a .safetensors extension")
    a = ap.parse_args(argv)
    dst = a.output
    if dst is None:
        base = a.input[:-len(".pth.tar")] if a.input.endswith(".pth.tar") else \
            os.path.splitext(a.input)[0]
        dst = base + ".safetensors"
    try:
        convert(a.input, dst)
    except ConversionError as err:
        print(f"error: {a.input}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
