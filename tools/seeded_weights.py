#!/usr/bin/python3
"""Deterministic seeded weights for kiln models, written as safetensors (numpy + stdlib only).

    seeded_weights.py MANIFEST.json -o W.safetensors [--seed N] [--dtype f32|f16|bf16]
                      [--state-dict STATE_DICT.json [--double]]

The e2e tests commit a manifest per model (the state_dict layout) instead of the weights; this
script regenerates the weights bit-identically on any machine, with any numpy >= 1.21. The
generator below is a CONTRACT: committed golden outputs (test/e2e/golden/) were computed from
exactly these values, so any change to it invalidates them.

Manifest (JSON):
    {"model": "resnet18",
     "tensors": [{"name": "conv1.weight", "shape": [64, 3, 7, 7], "kind": "weight"}, ...]}
Tensors are listed in state_dict order (num_batches_tracked omitted). `kind` is one of
weight, bias (conv / linear), bn_weight, bn_bias, running_mean, running_var (batch norm), other.

Algorithm (all integer arithmetic is on uint64, modulo 2**64):
 1. Key of a tensor. mix(z) is the splitmix64 finalizer:
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB
        z =  z ^ (z >> 31)
    h   = FNV-1a 64 of the UTF-8 bytes of the tensor name
          (h = 0xCBF29CE484222325; for each byte b: h = (h ^ b) * 0x100000001B3)
    key = mix(h ^ mix(seed mod 2**64))
 2. Element i (0-based, row-major) is the (i+1)-th output of splitmix64 started at state `key`:
        z_i = mix(key + (i + 1) * 0x9E3779B97F4A7C15)
 3. Its top 24 bits k_i = z_i >> 40 give an odd multiple of 2**-24 in (-1, 1), exact in float32:
        x_i = (2 * k_i + 1 - 2**24) / 2**24
 4. Value v_i = float32(c + s * x_i), evaluated in float64, where c (centre) and s (half width)
    are float32 numbers; the float64 result is exact, so the only rounding is the final one to
    float32 (round to nearest even), whatever the platform or evaluation order (FMA or not):
        kind          c      s                             distribution
        weight        0      f32(sqrt(G / fan_in))         U(-s, s), fan_in = numel / shape[0]
        bias          0      f32(0.1)                      U(-0.1, 0.1)
        bn_weight     1      0.5                           U(0.5, 1.5)
        bn_bias       0      f32(0.2)                      U(-0.2, 0.2)
        running_mean  0      f32(0.2)                      U(-0.2, 0.2)
        running_var   1.25   0.75                          U(0.5, 2.0)
        other         0      1                             U(-1, 1)
    sqrt and / are the correctly rounded IEEE float64 operations. The gain G is 6 (He uniform,
    Var(w) = 2 / fan_in) for 4-D weights with shape[1] == 1 (depthwise convolutions, or a
    convolution of a one-channel input) and 3 (Var(w) = 1 / fan_in) for all other weights.
    Why: eval-mode batch norm with random statistics does not renormalize, so the gain sets
    how activations evolve with depth. With G = 3 the identity path of deep ResNets grows only
    mildly (resnet152 output std ~14, against ~1e8 with He's gain everywhere); the thin
    expand / depthwise / project chains of MobileNet, ShuffleNet and GhostNet need the full He
    gain on the depthwise layers, or the input-dependent signal decays below the batch-norm
    offsets. tools/gen_e2e_golden.py prints the output std of every model.
 5. With --dtype f16 / bf16 the float32 values are rounded to nearest even into that dtype
    (bf16: the upper 16 bits of the float32 pattern after adding 0x7FFF + bit 16) and stored so.

With --state-dict (a layout recorded from torch by tools/gen_state_dict_layouts.py) the file
holds the whole state_dict, written as `safetensors.torch.save_file(model.state_dict(), path)`
writes it (write_like_save_file): the integer buffers too (every BatchNorm's
num_batches_tracked, an I64 scalar), no __metadata__, tensors sorted by dtype (safetensors'
order, descending: I64 before F64 before F32 ...) then by name, the header's entries in that
order, space-padded to a multiple of 8 bytes. --double stores the float tensors as F64, as
`model.double().state_dict()` would hold them (the float32 values, exactly).

The safetensors writer and reader (write_safetensors / read_safetensors) are also used by
tools/convert_pth.py and tools/gen_e2e_golden.py.
"""
import argparse
import json
import math
import struct
import sys

import numpy as np

WEIGHT_GAIN, DEPTHWISE_GAIN = 3.0, 6.0      # G of step 4
_CHUNK = 1 << 20                       # elements generated per numpy pass (bounds memory)

_U = np.uint64
_GOLDEN = _U(0x9E3779B97F4A7C15)
_M1, _M2 = _U(0xBF58476D1CE4E5B9), _U(0x94D049BB133111EB)

# kind -> (centre, half width) as Python floats; see step 4. "weight" depends on fan_in.
_RANGES = {
    "bias": (0.0, 0.1),
    "bn_weight": (1.0, 0.5),
    "bn_bias": (0.0, 0.2),
    "running_mean": (0.0, 0.2),
    "running_var": (1.25, 0.75),
    "other": (0.0, 1.0),
}
KINDS = ("weight",) + tuple(_RANGES)


def _mix(z):
    """splitmix64 finalizer on a uint64 array (numpy wraps array arithmetic silently)."""
    z = (z ^ (z >> _U(30))) * _M1
    z = (z ^ (z >> _U(27))) * _M2
    return z ^ (z >> _U(31))


def _mix_int(z):
    """_mix on one Python int, kept in plain integers to avoid numpy scalar overflow warnings."""
    m = (1 << 64) - 1
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return z ^ (z >> 31)


def tensor_key(seed, name):
    """Step 1: the 64-bit stream key of tensor |name| under |seed|."""
    h = 0xCBF29CE484222325
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & ((1 << 64) - 1)
    return _mix_int(h ^ _mix_int(seed & ((1 << 64) - 1)))


def uniform(seed, name, shape, centre, half):
    """Steps 2-4: float32 array of |shape| uniform in (centre - half, centre + half)."""
    c, s = float(np.float32(centre)), float(np.float32(half))
    n = math.prod(shape)
    key = _U(tensor_key(seed, name))
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, _CHUNK):
        i = np.arange(start + 1, min(start + _CHUNK, n) + 1, dtype=np.uint64)
        k = _mix(key + i * _GOLDEN) >> _U(40)
        x = (k.astype(np.float64) * 2.0 + (1.0 - 2.0 ** 24)) / 2.0 ** 24
        out[start:start + len(i)] = c + s * x      # float64 -> float32, round to nearest even
    return out.reshape(shape)


def kind_range(kind, shape):
    """(centre, half width) of the distribution of a tensor of |kind| and |shape|."""
    if kind == "weight":
        fan_in = math.prod(shape) // shape[0] if shape else 1
        gain = DEPTHWISE_GAIN if len(shape) == 4 and shape[1] == 1 else WEIGHT_GAIN
        return 0.0, math.sqrt(gain / fan_in)
    if kind not in _RANGES:
        raise ValueError(f"unknown tensor kind {kind!r}; expected one of {', '.join(KINDS)}")
    return _RANGES[kind]


# ----------------------------------------------------------------------------- dtypes

def to_bf16_bits(a):
    """float32 array -> uint16 bf16 bit patterns, round to nearest even (NaN stays NaN)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    bits = a.view(np.uint32)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    out = ((bits + np.uint32(0x7FFF) + lsb) >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(a)                  # keep NaNs NaN (quiet) instead of rounding them to inf
    out[nan] = ((bits[nan] >> np.uint32(16)) | np.uint32(0x40)).astype(np.uint16)
    return out


def from_bf16_bits(b):
    """uint16 bf16 bit patterns -> float32 array (exact)."""
    return (b.astype(np.uint32) << np.uint32(16)).view(np.float32)


def round_to_dtype(a, dtype):
    """The float32 values that |a| takes once stored as |dtype| (f32, f16 or bf16)."""
    if dtype == "f32":
        return a.astype(np.float32)
    if dtype == "f16":
        return a.astype(np.float32).astype(np.float16).astype(np.float32)
    if dtype == "bf16":
        return from_bf16_bits(to_bf16_bits(a)).reshape(a.shape)
    raise ValueError(f"unknown dtype {dtype!r}; expected f32, f16 or bf16")


def generate(manifest, seed=0, dtype="f32"):
    """{name: float32 array} for every tensor of |manifest|, in manifest order, holding the
    values as they are stored with |dtype| (so a reference computed from them matches)."""
    out = {}
    for t in manifest["tensors"]:
        shape = [int(d) for d in t["shape"]]
        c, s = kind_range(t["kind"], shape)
        out[t["name"]] = round_to_dtype(uniform(seed, t["name"], shape, c, s), dtype)
    return out


# ----------------------------------------------------------------------------- safetensors

_ST_DTYPE = {"f32": "F32", "f16": "F16", "bf16": "BF16"}
_NP_OF_ST = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "F64": np.dtype("<f8"),
             "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "U8": np.dtype("u1")}


def _encode(a, dtype):
    """Little-endian bytes of float32 array |a| stored as |dtype|."""
    if dtype == "f32":
        return np.ascontiguousarray(a, dtype="<f4").tobytes()
    if dtype == "f16":
        return np.ascontiguousarray(a, dtype="<f4").astype("<f2").tobytes()
    return to_bf16_bits(a).astype("<u2").tobytes()


def write_safetensors(path, tensors, dtype="f32", metadata=None):
    """Write {name: array} to |path| in the safetensors format, in dict order.

    Layout: u64 little-endian header length N, N bytes of JSON header (space-padded so the data
    starts 8-byte aligned) mapping each name to {dtype, shape, data_offsets: [begin, end]}
    relative to the data section, then the raw little-endian tensor data. Arrays are float
    (converted to float32 first) and stored as |dtype|; a per-tensor dtype may be given by
    passing (array, dtype) tuples instead of arrays."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, value in tensors.items():
        a, dt = value if isinstance(value, tuple) else (value, dtype)
        data = _encode(np.asarray(a, dtype=np.float32), dt)
        header[name] = {"dtype": _ST_DTYPE[dt], "shape": list(np.shape(a)),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    _write_file(path, header, blobs)


def _write_file(path, header, blobs):
    """The file: u64 header length, the compact JSON |header| space-padded to a multiple of 8
    bytes (as the safetensors library pads it), then |blobs| in order."""
    hdr = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hdr += b" " * (-len(hdr) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for data in blobs:
            f.write(data)


# The Dtype enum of the safetensors library, in its declaration order; save_file sorts tensors
# by it, descending, then by name.
_SAVE_FILE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
                    "I32", "U32", "F32", "F64", "I64", "U64"]
_INT_NP = {"I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "u1"}


def write_like_save_file(path, entries):
    """Write [(name, st_dtype, shape, little-endian bytes)] as safetensors.torch.save_file
    does (see the module docstring)."""
    entries = sorted(entries, key=lambda e: (-_SAVE_FILE_ORDER.index(e[1]), e[0]))
    header, offset = {}, 0
    for name, st, shape, data in entries:
        header[name] = {"dtype": st, "shape": list(shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    _write_file(path, header, [e[3] for e in entries])


def state_dict_entries(layout, tensors, dtype="f32", double=False):
    """The entries of write_like_save_file for a torch state_dict |layout|, the float tensors
    taken from |tensors| ({name: float32 array}, as generate() returns them) and stored as
    |dtype| (F64 with |double|), the integer ones holding the layout's values."""
    names = {t["name"] for t in layout["tensors"]}
    missing = [n for n in tensors if n not in names]
    if missing:
        raise ValueError(f"the state_dict layout lacks {', '.join(missing[:5])}")
    entries = []
    for t in layout["tensors"]:
        name, shape = t["name"], [int(d) for d in t["shape"]]
        if t["dtype"] in _INT_NP:
            a = np.asarray(t["value"], dtype=_INT_NP[t["dtype"]]).reshape(shape)
            entries.append((name, t["dtype"], shape, a.tobytes()))
            continue
        if name not in tensors:
            raise ValueError(f"{name}: a float tensor of the state_dict that the manifest lacks")
        a = tensors[name]
        if double:
            entries.append((name, "F64", shape, np.ascontiguousarray(a, "<f8").tobytes()))
        else:
            entries.append((name, _ST_DTYPE[dtype], shape, _encode(a, dtype)))
    return entries


def read_safetensors(path, as_float32=True):
    """{name: array} of a safetensors file, in header order. Float tensors (F32/F16/BF16/F64)
    come back as float32 when |as_float32|, otherwise in their stored dtype (BF16 as float32,
    numpy having no bfloat16)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw, st = data[begin:end], info["dtype"]
        if st == "BF16":
            a = from_bf16_bits(np.frombuffer(raw, dtype="<u2"))
        elif st in _NP_OF_ST:
            a = np.frombuffer(raw, dtype=_NP_OF_ST[st])
        else:
            raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {st}")
        if as_float32 and a.dtype.kind == "f":
            a = a.astype(np.float32)
        out[name] = a.reshape(info["shape"])
    return out


def load_manifest(path):
    with open(path) as f:
        return json.load(f)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifest", help="manifest JSON (test/e2e/golden/<model>/manifest.json)")
    ap.add_argument("-o", "--output", required=True, help="safetensors file to write")
    ap.add_argument("--seed", type=int, default=0, help="default: 0")
    ap.add_argument("--dtype", choices=sorted(_ST_DTYPE), default="f32",
                    help="stored dtype (default: f32)")
    ap.add_argument("--state-dict", metavar="STATE_DICT.json",
                    help="write the whole state_dict of this layout as save_file does")
    ap.add_argument("--double", action="store_true",
                    help="with --state-dict: float tensors as F64 (model.double())")
    a = ap.parse_args(argv)
    manifest = load_manifest(a.manifest)
    tensors = generate(manifest, a.seed, a.dtype)
    if a.double and not a.state_dict:
        ap.error("--double needs --state-dict")
    if a.state_dict:
        layout = load_manifest(a.state_dict)
        write_like_save_file(a.output, state_dict_entries(layout, tensors, a.dtype, a.double))
        return 0
    write_safetensors(a.output, tensors, a.dtype,
                      {"format": "pt", "generator": "kiln seeded_weights.py",
                       "model": manifest.get("model", ""), "seed": a.seed})
    return 0


if __name__ == "__main__":
    sys.exit(main())
