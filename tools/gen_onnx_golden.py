#!/usr/bin/python3
"""Generator of the committed ONNX golden data test/e2e/onnx/golden/<case>/.

Every case is a PyTorch model exported by `torch.onnx.export` (Debian's python3-torch 1.13,
which writes opsets 7 to 17) and what PyTorch computes with it:

    model.onnx     the exported file
    case.json      {"model", "input_shape", "opset", "seed", "external": [names], ...}
    input.npy      float32 input, U(-1, 1) (tensor "input" of tools/seeded_weights.py, seed 0)
    output.npy     PyTorch's eval() output, computed in float64, as float32
    manifest.json  (external cases) the state_dict layout of the seeded weights

Three kinds of case:
  * "external": a torchvision (or kiln seed) network at full width with seeded weights
    (tools/seeded_weights.py), exported with training=TrainingMode.PRESERVE so that batch
    norms stay in the graph and the initializers are exactly the state_dict. The initializers
    the manifest names are then moved into an external data file, `weights.bin`, as
    onnx.save_model(save_as_external_data=True) does (location / offset / length entries,
    tensors back to back in manifest order); that file is NOT committed: the test regenerates
    it bit for bit from the manifest (test/e2e/onnx/run_onnx_case.py). So the committed graph
    stays a few KB while the weights are the model's real size.
  * "embedded": small networks exported the way most users export (eval mode: the exporter
    folds batch norms into convolutions), the file committed whole.
  * "handmade": graphs written with onnx.helper for ONNX semantics torch.onnx.export never
    writes (Softmax's axis coerced to 2-D, Gemm's transA, Upsample, Resize's coordinate
    modes), the expected output computed by PyTorch ops that say what the ONNX ops mean.

case.json also records `total_params` and `total_mult_adds`: the torchsummaryX totals
(tools/kiln_torch/summary.py) of the PyTorch module, which `kiln report` of the ONNX file must
equal for external cases (the module tree survives in the node names).

Regenerate (needs python3-torch, python3-torchvision and python3-onnx):

    /usr/bin/python3 tools/gen_onnx_golden.py test/e2e/onnx/golden            # all cases
    /usr/bin/python3 tools/gen_onnx_golden.py OUTDIR resnet18 tiny_folded      # a subset
"""
import argparse
import io
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seeded_weights  # noqa: E402
from gen_e2e_golden import make_manifest, manifest_json, seeded_input  # noqa: E402
from kiln_torch.models import build  # noqa: E402
from kiln_torch.summary import summary  # noqa: E402


# ----------------------------------------------------------------------------- tiny models

class TinyFolded(nn.Module):
    """A small network that exercises what an eval-mode export writes: batch norms folded into
    convolutions, dilated and grouped convolutions, ceil-mode max pooling, average pooling
    without padded elements, Hardswish, a channel shuffle, a split and a concat, global max
    pooling, and linear layers as Gemm and as MatMul + Add."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.dil = nn.Sequential(nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4),
                                 nn.BatchNorm2d(8), nn.Hardswish())
        self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.branch = nn.Sequential(nn.Conv2d(4, 4, 1), nn.Sigmoid())
        self.head = nn.Linear(8, 6)
        self.proj = nn.Linear(6, 5, bias=True)

    def forward(self, x):
        x = self.pool(self.stem(x))
        x = self.avg(self.dil(x))
        n, c, h, w = x.shape
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)
        a, b = x.split(4, dim=1)
        x = torch.cat([a, self.branch(b)], 1)
        x = F.adaptive_max_pool2d(x, 1).flatten(1)
        x = self.head(x).unsqueeze(1)          # [n, 1, 6]: the next linear is a MatMul + Add
        return self.proj(x).squeeze(1)


class TinyOps(nn.Module):
    """Ops the torchvision networks do not use: SiLU, a gate Mul, ReduceMean, slices with
    steps, transposes of more than two dimensions, and a reshape of a transposed tensor
    (which kiln must copy, not view)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, stride=2, padding=0)
        self.act = nn.SiLU()
        self.gate = nn.Conv2d(6, 6, 1)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        x = self.act(self.conv(x))
        g = torch.sigmoid(self.gate(x.mean([2, 3], keepdim=True)))
        x = x * g
        x = x[:, :, ::2, 1:]
        x = x.permute(0, 2, 3, 1).permute(0, 3, 1, 2)
        t = x.flatten(2).transpose(1, 2).reshape(1, -1, 6)  # a 3-D Transpose, Reshape
        return self.fc(x.mean([2, 3]) + t[:, :7].mean(1))


class TinyNewOps(nn.Module):
    """The elementwise ops kiln added for ONNX: Tanh, LeakyReLU, ELU, Sub and Div of
    activations, and constant padding (F.pad, with a value) before a convolution."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.gate = nn.Conv2d(3, 8, 3)
        self.act1 = nn.Tanh()
        self.act2 = nn.LeakyReLU(0.2)
        self.act3 = nn.ELU(0.7)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = F.pad(x, (1, 2, 0, 1), value=0.5)
        a = self.act1(self.conv(x))
        g = torch.sigmoid(self.gate(x)) + torch.sigmoid(self.gate(x))
        y = self.act2(a - g) / g
        y = self.act3(y)
        return self.fc(y.mean([2, 3]))


def tiny_newops():
    return TinyNewOps()


class TinyConstants(nn.Module):
    """Constant tensors and the ops classifiers' ONNX exports add: the input normalized by
    registered buffers (state_dict names), a per-channel scale (an nn.Parameter, like
    ConvNeXt's layer_scale) and shift, scalars (x * 0.5, 1 - x, x / 3 as MaxViT divides),
    Clip as Hardtanh and as clamp(min) alone, nearest upsampling, and softmaxes over the
    channels of N×C×H×W data and over a classifier's logits."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.layer_scale = nn.Parameter(torch.rand(8, 1, 1) + 0.5)
        self.shift = nn.Parameter(torch.rand(8, 1, 1) - 0.5)
        self.act = nn.Hardtanh(-0.5, 0.8)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv2 = nn.Conv2d(8, 6, 3, stride=2)
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        x = (x - self.mean) / self.std
        y = self.conv(x) * self.layer_scale + self.shift
        y = self.act(y) * 0.5 + (1.0 - torch.clamp(y, min=-0.2)) / 3
        y = torch.softmax(self.up(y), dim=1)
        y = self.conv2(y)
        return torch.softmax(self.fc(y.mean([2, 3])), dim=1)


def tiny_constants():
    return TinyConstants()


# ----------------------------------------------------------------------------- hand-written graphs
# ONNX semantics torch.onnx.export does not write (it exports a softmax over a middle axis as
# Transpose-Softmax-Transpose, Linear with transB, Upsample only at opsets <= 9): graphs made
# with onnx.helper, their expected outputs computed by PyTorch ops that say what ONNX means.

def _f32(rng, *shape):
    return (rng.random(shape, dtype=np.float32) * 2 - 1).astype(np.float32)


def handmade_opset9(x):
    """Upsample (opset 9: the scales as an input), Clip with attribute bounds, Softmax's
    default axis 1 on a 4-D tensor (each sample's C×H×W values normalized together)."""
    from onnx import TensorProto, helper
    n, c, h, w = x.shape
    nodes = [
        helper.make_node("Upsample", ["input", "scales"], ["up"], mode="nearest"),
        helper.make_node("Clip", ["up"], ["clipped"], min=-0.3, max=0.4),
        helper.make_node("Softmax", ["clipped"], ["output"]),
    ]
    scales = numpy_helper.from_array(np.array([1, 1, 2, 3], np.float32), "scales")
    graph = helper.make_graph(
        nodes, "opset9", [helper.make_tensor_value_info("input", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [n, c, 2 * h, 3 * w])],
        [scales])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    t = torch.from_numpy(x.astype(np.float64))
    y = F.interpolate(t, scale_factor=(2, 3), mode="nearest").clamp(-0.3, 0.4)
    y = torch.softmax(y.reshape(n, -1), 1).reshape(y.shape)
    return model, y


def handmade_opset11(x):
    """Resize (opset 11: half_pixel, round_prefer_floor, scales 3 x 2), Softmax with axis 1
    coerced to 2-D, Gemm with transA (its A an activation) and beta, Clip with only a max."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(11)
    n, c, h, w = x.shape
    k, m = 2 * 3 * h * 2 * w * c // 12, 12   # the softmax's values seen as K x M
    weight, bias = _f32(rng, k, 7), _f32(rng, 7)
    nodes = [
        helper.make_node("Resize", ["input", "roi", "scales"], ["up"], mode="nearest",
                         coordinate_transformation_mode="half_pixel",
                         nearest_mode="round_prefer_floor"),
        helper.make_node("Softmax", ["up"], ["soft"], axis=1),
        helper.make_node("Reshape", ["soft", "km"], ["a"]),
        helper.make_node("Gemm", ["a", "weight", "bias"], ["gemm"], transA=1, beta=0.5),
        helper.make_node("Clip", ["gemm", "", "hi"], ["output"]),
    ]
    inits = [numpy_helper.from_array(np.array([], np.float32), "roi"),
             numpy_helper.from_array(np.array([1, 1, 3, 2], np.float32), "scales"),
             numpy_helper.from_array(np.array([k, m], np.int64), "km"),
             numpy_helper.from_array(weight, "weight"), numpy_helper.from_array(bias, "bias"),
             numpy_helper.from_array(np.array(0.02, np.float32), "hi")]
    graph = helper.make_graph(
        nodes, "opset11", [helper.make_tensor_value_info("input", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [m, 7])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    t = torch.from_numpy(x.astype(np.float64))
    y = F.interpolate(t, scale_factor=(3, 2), mode="nearest")
    y = torch.softmax(y.reshape(n, -1), 1).reshape(k, m)
    y = y.t() @ torch.from_numpy(weight).double() + 0.5 * torch.from_numpy(bias).double()
    return model, y.clamp(max=0.02)


class AsymmetricConv(nn.Module):
    """Convolutions after asymmetric zero padding. PyTorch exports F.pad + Conv; the
    generator folds each such Pad into its Conv's `pads` (and the first one into
    auto_pad=SAME_UPPER), as exporters of TensorFlow models write SAME convolutions."""

    # F.pad's (left, right, top, bottom) of each convolution, in order.
    PADS = [(0, 1, 0, 1), (2, 0, 1, 1), (0, 2, 0, 2)]

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 6, 3, stride=2)
        self.shift = nn.Conv2d(6, 4, 3)
        self.wide = nn.Conv2d(4, 4, 2, stride=2)

    def forward(self, x):
        x = self.down(F.pad(x, self.PADS[0]))   # SAME_UPPER for k3 s2 on 10 x 12
        x = self.shift(F.pad(x, self.PADS[1]))  # more padding at the start
        return self.wide(F.pad(x, self.PADS[2]))  # an extra end of whole strides


def asymmetric_conv():
    return AsymmetricConv()


def fold_pads_into_convs(onnx_bytes, pads):
    """Folds the Pad before each Conv into the Conv: |pads| are F.pad's (left, right, top,
    bottom) of each, in graph order; the first Conv gets auto_pad=SAME_UPPER (which is
    what its padding is), the others explicit pads [top, left, bottom, right]. The
    exporter's subgraphs that computed the Pads' amounts are left unused."""
    m = onnx.load_from_string(onnx_bytes)
    g = m.graph
    convs = [n for n in g.node if n.op_type == "Conv"]
    producer = {n.output[0]: n for n in g.node}
    assert len(convs) == len(pads)
    for i, (conv, (left, right, top, bottom)) in enumerate(zip(convs, pads)):
        pad = producer[conv.input[0]]
        assert pad.op_type == "Pad"
        conv.input[0] = pad.input[0]
        for a in list(conv.attribute):
            if a.name == "pads":
                conv.attribute.remove(a)
        if i == 0:
            conv.attribute.append(onnx.helper.make_attribute("auto_pad", "SAME_UPPER"))
        else:
            conv.attribute.append(
                onnx.helper.make_attribute("pads", [top, left, bottom, right]))
        g.node.remove(pad)
    return m.SerializeToString()


def tiny_folded():
    return TinyFolded()


def tiny_ops():
    return TinyOps()


def tv(name, **kw):
    return lambda: getattr(torchvision.models, name)(**kw)


def seed_family(name):
    return lambda: build(name)


# name -> (constructor, input shape, opset, kind, options)
CASES = {
    "resnet18": (tv("resnet18"), [1, 3, 64, 64], 13, "external", {}),
    "resnet50": (tv("resnet50"), [1, 3, 64, 64], 11, "external", {}),
    "resnext50_32x4d": (tv("resnext50_32x4d"), [1, 3, 64, 64], 14, "external", {}),
    "mobilenet_v2": (tv("mobilenet_v2"), [1, 3, 64, 64], 12, "external", {}),
    "shufflenet_v2_x1_0": (tv("shufflenet_v2_x1_0"), [1, 3, 64, 64], 13, "external", {}),
    "ghostnet": (seed_family("ghostnet"), [1, 3, 64, 64], 11, "external", {}),
    "cnn": (seed_family("cnn"), [2, 1, 28, 28], 9, "external", {}),
    "batch_net": (seed_family("batch_net"), [2, 784], 10, "external", {}),
    "silu_net": (seed_family("silu_net"), [1, 3, 32, 32], 15, "external", {}),
    "squeezenet1_1": (tv("squeezenet1_1"), [1, 3, 64, 64], 13, "external", {}),
    "densenet121": (tv("densenet121"), [1, 3, 64, 64], 13, "external", {}),
    "googlenet": (tv("googlenet", aux_logits=False, init_weights=False), [1, 3, 64, 64], 13,
                  "external", {}),
    "mnasnet0_5": (tv("mnasnet0_5"), [1, 3, 64, 64], 16, "external", {}),
    "mobilenet_v3_small": (tv("mobilenet_v3_small"), [1, 3, 64, 64], 17, "external", {}),
    "efficientnet_b0": (tv("efficientnet_b0"), [1, 3, 64, 64], 13, "external", {}),
    "regnet_y_400mf": (tv("regnet_y_400mf"), [1, 3, 64, 64], 13, "external", {}),
    # Exported with a symbolic batch dimension: kiln needs --batch.
    "resnet18_dynamic": (tv("resnet18"), [2, 3, 32, 32], 13, "external",
                         {"dynamic_batch": True}),
    "tiny_folded": (tiny_folded, [2, 3, 33, 31], 13, "embedded", {}),
    "tiny_ops": (tiny_ops, [1, 3, 20, 22], 17, "embedded", {}),
    "tiny_newops": (tiny_newops, [2, 3, 9, 10], 13, "embedded", {}),
    "asymmetric_conv": (asymmetric_conv, [1, 3, 10, 12], 13, "embedded", {"fold_pads": True}),
    "tiny_constants": (tiny_constants, [2, 3, 8, 9], 13, "embedded", {}),
    "onnx_opset9": (handmade_opset9, [2, 3, 3, 4], 9, "handmade", {}),
    "onnx_opset11": (handmade_opset11, [2, 3, 2, 3], 11, "handmade", {}),
}


def load(model, weights):
    """Loads |weights| ({name: float32 array}) into |model|'s state_dict, keeping its
    metadata (MNASNet checks its version there)."""
    state = model.state_dict()
    for name, value in weights.items():
        state[name] = torch.from_numpy(value).to(state[name].dtype)
    model.load_state_dict(state)


def export(model, x, opset, kind, options):
    """The ONNX bytes of |model| exported at input |x|."""
    f = io.BytesIO()
    kw = {}
    if kind == "external":
        kw["training"] = torch.onnx.TrainingMode.PRESERVE
    if options.get("dynamic_batch"):
        kw["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    torch.onnx.export(model, torch.from_numpy(x), f, opset_version=opset,
                      input_names=["input"], output_names=["output"], **kw)
    return f.getvalue()


def externalize(onnx_bytes, manifest, weights):
    """Moves the initializers the manifest names (and that hold exactly the seeded weights)
    into external data `weights.bin`, back to back in manifest order. Returns the new model
    bytes and the names moved."""
    m = onnx.load_from_string(onnx_bytes)
    inits = {t.name: t for t in m.graph.initializer}
    moved, offset = [], 0
    for t in manifest["tensors"]:
        init = inits.get(t["name"])
        if init is None:
            continue
        data = numpy_helper.to_array(init)
        if data.dtype != np.float32 or not np.array_equal(data, weights[t["name"]]):
            continue
        length = data.size * 4
        init.ClearField("raw_data")
        init.ClearField("float_data")
        init.data_location = onnx.TensorProto.EXTERNAL
        del init.external_data[:]
        for key, value in (("location", "weights.bin"), ("offset", str(offset)),
                           ("length", str(length))):
            entry = init.external_data.add()
            entry.key, entry.value = key, value
        offset += length
        moved.append(t["name"])
    return m.SerializeToString(), moved


def write_case(root, name):
    ctor, shape, opset, kind, options = CASES[name]
    model = ctor().eval() if kind != "handmade" else None
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    x = seeded_input(shape)
    case = {"model": name, "input_shape": shape, "opset": opset, "kind": kind, "seed": 0}
    if kind == "external":
        manifest = make_manifest(name, model)
        weights = seeded_weights.generate(manifest, 0)
        load(model, weights)
        data, moved = externalize(export(model, x, opset, kind, options), manifest, weights)
        case["external"] = moved
        with open(os.path.join(d, "manifest.json"), "w") as f:
            f.write(manifest_json(manifest))
        reference = ctor().double().eval()
        load(reference, weights)
        with torch.no_grad():
            y = reference(torch.from_numpy(x.astype(np.float64))).numpy().astype(np.float32)
    elif kind == "handmade":
        model_proto, y = ctor(x)
        onnx.checker.check_model(model_proto)
        data = model_proto.SerializeToString()
        y = y.numpy().astype(np.float32)
    else:
        torch.manual_seed(0)
        model = ctor().eval()
        # Non-trivial batch-norm statistics, so that folding them matters.
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.data.uniform_(0.5, 1.5)
                m.bias.data.uniform_(-0.2, 0.2)
        data = export(model, x, opset, kind, options)
        if options.get("fold_pads"):
            data = fold_pads_into_convs(data, AsymmetricConv.PADS)
            case["rewritten"] = "Pad nodes folded into Conv pads / auto_pad"
        with torch.no_grad():
            y = model.double()(torch.from_numpy(x.astype(np.float64))).numpy()
            y = y.astype(np.float32)
        model = model.float()
    if options.get("dynamic_batch"):
        case["dynamic_batch"] = True
    if kind != "handmade":
        s = summary(ctor().eval(), torch.from_numpy(x))
        case["total_params"], case["total_mult_adds"] = s["total_params"], s["total_mult_adds"]
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(data)
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(case, f)
        f.write("\n")
    np.save(os.path.join(d, "input.npy"), x)
    np.save(os.path.join(d, "output.npy"), y)
    print(f"{name}: opset {opset}, {kind}, model.onnx {len(data)} bytes, output "
          f"{list(y.shape)} std {float(y.std()):.4g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir")
    ap.add_argument("cases", nargs="*", help=f"default: all of {', '.join(CASES)}")
    args = ap.parse_args()
    torch.set_num_threads(2)
    for name in args.cases or CASES:
        write_case(args.outdir, name)


if __name__ == "__main__":
    main()
