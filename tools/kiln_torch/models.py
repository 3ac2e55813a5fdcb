"""PyTorch definitions of the kiln reference networks.

`build(name, **kw)` returns an nn.Module for every name in MODELS; keyword arguments are
passed to the constructor (e.g. num_classes=10, width=0.5) to make reduced-size variants.
`INPUT_SHAPES[name]` is the default input shape at batch 1.

Networks not in torchvision: the MLPs and CNN of the seed notes, and GhostNet as written in
huawei-noah/Efficient-AI-Backbones ghostnet_pytorch/ghostnet.py (module names and call order
are kept identical, since the report golden data depends on them).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


# ----------------------------------------------------------------------------- seed notes

class SimpleNet(nn.Module):
    """Three linear layers, no activation (simpleNet of the seed notes)."""

    def __init__(self, in_dim=784, n_hidden_1=300, n_hidden_2=100, out_dim=10):
        super().__init__()
        self.layer1 = nn.Linear(in_dim, n_hidden_1)
        self.layer2 = nn.Linear(n_hidden_1, n_hidden_2)
        self.layer3 = nn.Linear(n_hidden_2, out_dim)

    def forward(self, x):
        return self.layer3(self.layer2(self.layer1(x)))


class ActivationNet(nn.Module):
    """SimpleNet with ReLU after the hidden layers (Activation_Net)."""

    def __init__(self, in_dim=784, n_hidden_1=300, n_hidden_2=100, out_dim=10):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Linear(in_dim, n_hidden_1), nn.ReLU(True))
        self.layer2 = nn.Sequential(nn.Linear(n_hidden_1, n_hidden_2), nn.ReLU(True))
        self.layer3 = nn.Sequential(nn.Linear(n_hidden_2, out_dim))

    def forward(self, x):
        return self.layer3(self.layer2(self.layer1(x)))


class BatchNet(nn.Module):
    """ActivationNet with BatchNorm1d before each ReLU (Batch_Net)."""

    def __init__(self, in_dim=784, n_hidden_1=300, n_hidden_2=100, out_dim=10):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Linear(in_dim, n_hidden_1),
                                    nn.BatchNorm1d(n_hidden_1), nn.ReLU(True))
        self.layer2 = nn.Sequential(nn.Linear(n_hidden_1, n_hidden_2),
                                    nn.BatchNorm1d(n_hidden_2), nn.ReLU(True))
        self.layer3 = nn.Sequential(nn.Linear(n_hidden_2, out_dim))

    def forward(self, x):
        return self.layer3(self.layer2(self.layer1(x)))


class CNN(nn.Module):
    """The seed CNN for 1x28x28 inputs (typos fixed)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(1, 25, kernel_size=3),
                                    nn.BatchNorm2d(25), nn.ReLU(inplace=True))
        self.layer2 = nn.Sequential(nn.MaxPool2d(kernel_size=2, stride=2))
        self.layer3 = nn.Sequential(nn.Conv2d(25, 50, kernel_size=3),
                                    nn.BatchNorm2d(50), nn.ReLU(inplace=True))
        self.layer4 = nn.Sequential(nn.MaxPool2d(kernel_size=2, stride=2))
        self.fc = nn.Sequential(nn.Linear(50 * 5 * 5, 1024), nn.ReLU(inplace=True),
                                nn.Linear(1024, 128), nn.ReLU(inplace=True),
                                nn.Linear(128, num_classes))

    def forward(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = x.view(x.size(0), -1)
        return self.fc(x)


# ----------------------------------------------------------------------------- GhostNet

def _make_divisible(v, divisor, min_value=None):
    """Round v to a multiple of divisor, never going down by more than 10%."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def hard_sigmoid(x, inplace: bool = False):
    if inplace:
        return x.add_(3.).clamp_(0., 6.).div_(6.)
    return F.relu6(x + 3.) / 6.


class SqueezeExcite(nn.Module):
    def __init__(self, in_chs, se_ratio=0.25, reduced_base_chs=None,
                 act_layer=nn.ReLU, gate_fn=hard_sigmoid, divisor=4, **_):
        super().__init__()
        self.gate_fn = gate_fn
        reduced_chs = _make_divisible((reduced_base_chs or in_chs) * se_ratio, divisor)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_reduce = nn.Conv2d(in_chs, reduced_chs, 1, bias=True)
        self.act1 = act_layer(inplace=True)
        self.conv_expand = nn.Conv2d(reduced_chs, in_chs, 1, bias=True)

    def forward(self, x):
        x_se = self.avg_pool(x)
        x_se = self.conv_reduce(x_se)
        x_se = self.act1(x_se)
        x_se = self.conv_expand(x_se)
        return x * self.gate_fn(x_se)


class ConvBnAct(nn.Module):
    def __init__(self, in_chs, out_chs, kernel_size, stride=1, act_layer=nn.ReLU):
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, kernel_size, stride, kernel_size // 2, bias=False)
        self.bn1 = nn.BatchNorm2d(out_chs)
        self.act1 = act_layer(inplace=True)

    def forward(self, x):
        return self.act1(self.bn1(self.conv(x)))


class GhostModule(nn.Module):
    def __init__(self, inp, oup, kernel_size=1, ratio=2, dw_size=3, stride=1, relu=True):
        super().__init__()
        self.oup = oup
        init_channels = math.ceil(oup / ratio)
        new_channels = init_channels * (ratio - 1)
        # Note: relu=False puts an empty nn.Sequential() (identity) in the activation slot.
        self.primary_conv = nn.Sequential(
            nn.Conv2d(inp, init_channels, kernel_size, stride, kernel_size // 2, bias=False),
            nn.BatchNorm2d(init_channels),
            nn.ReLU(inplace=True) if relu else nn.Sequential(),
        )
        self.cheap_operation = nn.Sequential(
            nn.Conv2d(init_channels, new_channels, dw_size, 1, dw_size // 2,
                      groups=init_channels, bias=False),
            nn.BatchNorm2d(new_channels),
            nn.ReLU(inplace=True) if relu else nn.Sequential(),
        )

    def forward(self, x):
        x1 = self.primary_conv(x)
        x2 = self.cheap_operation(x1)
        out = torch.cat([x1, x2], dim=1)
        return out[:, :self.oup, :, :]


class GhostBottleneck(nn.Module):
    """Ghost bottleneck with optional SE."""

    def __init__(self, in_chs, mid_chs, out_chs, dw_kernel_size=3,
                 stride=1, act_layer=nn.ReLU, se_ratio=0.):
        super().__init__()
        has_se = se_ratio is not None and se_ratio > 0.
        self.stride = stride
        self.ghost1 = GhostModule(in_chs, mid_chs, relu=True)      # point-wise expansion
        if self.stride > 1:                                         # depth-wise conv
            self.conv_dw = nn.Conv2d(mid_chs, mid_chs, dw_kernel_size, stride=stride,
                                     padding=(dw_kernel_size - 1) // 2,
                                     groups=mid_chs, bias=False)
            self.bn_dw = nn.BatchNorm2d(mid_chs)
        self.se = SqueezeExcite(mid_chs, se_ratio=se_ratio) if has_se else None
        self.ghost2 = GhostModule(mid_chs, out_chs, relu=False)    # point-wise linear
        if in_chs == out_chs and self.stride == 1:
            self.shortcut = nn.Sequential()                         # identity
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_chs, in_chs, dw_kernel_size, stride=stride,
                          padding=(dw_kernel_size - 1) // 2, groups=in_chs, bias=False),
                nn.BatchNorm2d(in_chs),
                nn.Conv2d(in_chs, out_chs, 1, stride=1, padding=0, bias=False),
                nn.BatchNorm2d(out_chs),
            )

    def forward(self, x):
        residual = x
        x = self.ghost1(x)
        if self.stride > 1:
            x = self.conv_dw(x)
            x = self.bn_dw(x)
        if self.se is not None:
            x = self.se(x)
        x = self.ghost2(x)
        x += self.shortcut(residual)
        return x


class GhostNet(nn.Module):
    def __init__(self, cfgs, num_classes=1000, width=1.0, dropout=0.2):
        super().__init__()
        self.cfgs = cfgs
        self.dropout = dropout

        output_channel = _make_divisible(16 * width, 4)
        self.conv_stem = nn.Conv2d(3, output_channel, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(output_channel)
        self.act1 = nn.ReLU(inplace=True)
        input_channel = output_channel

        stages = []
        for cfg in self.cfgs:
            layers = []
            for k, exp_size, c, se_ratio, s in cfg:
                output_channel = _make_divisible(c * width, 4)
                hidden_channel = _make_divisible(exp_size * width, 4)
                layers.append(GhostBottleneck(input_channel, hidden_channel, output_channel,
                                              k, s, se_ratio=se_ratio))
                input_channel = output_channel
            stages.append(nn.Sequential(*layers))
        output_channel = _make_divisible(exp_size * width, 4)   # exp_size of the last cfg
        stages.append(nn.Sequential(ConvBnAct(input_channel, output_channel, 1)))
        input_channel = output_channel
        self.blocks = nn.Sequential(*stages)

        output_channel = 1280
        self.global_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.conv_head = nn.Conv2d(input_channel, output_channel, 1, 1, 0, bias=True)
        self.act2 = nn.ReLU(inplace=True)
        self.classifier = nn.Linear(output_channel, num_classes)

    def forward(self, x):
        x = self.act1(self.bn1(self.conv_stem(x)))
        x = self.blocks(x)
        x = self.global_pool(x)
        x = self.act2(self.conv_head(x))
        x = x.view(x.size(0), -1)
        if self.dropout > 0.:
            x = F.dropout(x, p=self.dropout, training=self.training)
        return self.classifier(x)


GHOSTNET_CFGS = [
    # k, t, c, SE, s
    [[3, 16, 16, 0, 1]],                                   # stage1
    [[3, 48, 24, 0, 2]],                                   # stage2
    [[3, 72, 24, 0, 1]],
    [[5, 72, 40, 0.25, 2]],                                # stage3
    [[5, 120, 40, 0.25, 1]],
    [[3, 240, 80, 0, 2]],                                  # stage4
    [[3, 200, 80, 0, 1], [3, 184, 80, 0, 1], [3, 184, 80, 0, 1],
     [3, 480, 112, 0.25, 1], [3, 672, 112, 0.25, 1]],
    [[5, 672, 160, 0.25, 2]],                              # stage5
    [[5, 960, 160, 0, 1], [5, 960, 160, 0.25, 1],
     [5, 960, 160, 0, 1], [5, 960, 160, 0.25, 1]],
]


def ghostnet(**kwargs):
    """GhostNet 1.0x by default; kwargs: num_classes, width, dropout."""
    return GhostNet(GHOSTNET_CFGS, **kwargs)


class SiluNet(nn.Module):
    """A small conv-BN-SiLU network (EfficientNet's activation), for kiln's silu."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.SiLU(True),
            nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.SiLU(True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


# ----------------------------------------------------------------------------- registry

_TORCHVISION = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
                "resnext50_32x4d", "resnext101_32x8d", "mobilenet_v2", "shufflenet_v2_x1_0"]

MODELS = {
    "simple_net": SimpleNet,
    "activation_net": ActivationNet,
    "batch_net": BatchNet,
    "cnn": CNN,
    "ghostnet": ghostnet,
    "silu_net": SiluNet,
    # torchvision constructors, randomly initialised (no pretrained weights)
    **{n: getattr(torchvision.models, n) for n in _TORCHVISION},
}

INPUT_SHAPES = {n: [1, 3, 224, 224] for n in MODELS}
INPUT_SHAPES.update(simple_net=[1, 784], activation_net=[1, 784], batch_net=[1, 784],
                    cnn=[1, 1, 28, 28])


def build(name, **kw):
    """Return a fresh nn.Module for model `name`; kw override constructor defaults."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name](**kw)
