#!/usr/bin/env python3
"""Rebuild a network exported by `pbtnas export` in plain PyTorch (docs/export.md).

`pbtnas export FILE.h5 --out DIR` writes DIR/model.pt (a state dict), DIR/architecture.json
(task, search space, genome with gene and option names, model settings) and DIR/example.pt
(fixed inputs and pbtnas's own outputs for them). This module needs nothing but `torch`:

    import sys; sys.path.insert(0, "jobs/tools")
    import torch, pbtnas_models
    net = pbtnas_models.load("exported")              # torch.nn.Module, eval mode, weights loaded
    ex = torch.load("exported/example.pt")
    print(torch.allclose(net(ex["input"]), ex["output"], rtol=1e-4, atol=1e-5))

Covered: the classifier of `task: classify` (search space classify_cnn) and the generator of
`task: gan` (search spaces gan_easy and gan_hard). The module names follow pbtnas's exactly, so
the state dict loads with strict=True. The networks mirror src/tasks/classify/classify_model.cpp
and src/tasks/gan/gan_generator.cpp.

Run as a script, `python3 pbtnas_models.py DIR` rebuilds DIR's network, runs example.pt's input
through it and prints the largest difference from pbtnas's output (exit code 1 when they differ
beyond the tolerance).
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["load", "build", "load_example", "check", "Classifier", "Generator"]

# Tolerance of check() (and of the test): float32 rounding between LibTorch and PyTorch.
RTOL = 1e-4
ATOL = 1e-5


# --------------------------------------------------------------------------------------------
# classify_cnn (task: classify)

CELL_OPS = ["identity", "conv3x3", "conv5x5", "dilconv3x3", "sepconv3x3", "sepconv5x5",
            "residual3x3", "maxpool3x3"]
CELL_NORMS = ["batchnorm", "none"]
CELL_ACTS = ["relu", "silu", "tanh", "leaky_relu"]


def _same_conv(c_in, c_out, k, stride=1, dilation=1, groups=1, bias=False):
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=dilation * (k - 1) // 2,
                     dilation=dilation, groups=groups, bias=bias)


class _Empty(nn.Module):
    """An operation without tensors (identity, max pooling)."""

    def __init__(self, fn=None):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return x if self.fn is None else self.fn(x)


class _ConvOp(nn.Module):  # conv.weight
    def __init__(self, c, k, dilation):
        super().__init__()
        self.conv = _same_conv(c, c, k, dilation=dilation)

    def forward(self, x):
        return self.conv(x)


class _SepConvOp(nn.Module):  # depthwise.weight, pointwise.weight
    def __init__(self, c, k):
        super().__init__()
        self.depthwise = _same_conv(c, c, k, groups=c)
        self.pointwise = _same_conv(c, c, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class _ResidualOp(nn.Module):  # x + conv2(relu(conv1(x)))
    def __init__(self, c):
        super().__init__()
        self.conv1 = _same_conv(c, c, 3)
        self.conv2 = _same_conv(c, c, 3)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x)))


def _cell_op(name, c):
    if name == "identity":
        return _Empty()
    if name == "conv3x3":
        return _ConvOp(c, 3, 1)
    if name == "conv5x5":
        return _ConvOp(c, 5, 1)
    if name == "dilconv3x3":
        return _ConvOp(c, 3, 2)
    if name == "sepconv3x3":
        return _SepConvOp(c, 3)
    if name == "sepconv5x5":
        return _SepConvOp(c, 5)
    if name == "residual3x3":
        return _ResidualOp(c)
    if name == "maxpool3x3":
        return _Empty(lambda x: F.max_pool2d(x, 3, stride=1, padding=1))
    raise ValueError(f"unknown cell op {name!r}; expected one of {CELL_OPS}")


class _Cell(nn.Module):
    """x + act(norm(op(x))); `norm` exists only for batchnorm."""

    def __init__(self, c, op, norm, act):
        super().__init__()
        if norm not in CELL_NORMS:
            raise ValueError(f"unknown cell norm {norm!r}; expected one of {CELL_NORMS}")
        if act not in CELL_ACTS:
            raise ValueError(f"unknown cell activation {act!r}; expected one of {CELL_ACTS}")
        self.op = _cell_op(op, c)
        if norm == "batchnorm":
            self.norm = nn.BatchNorm2d(c)
        self.act = act

    def forward(self, x):
        y = self.op(x)
        if hasattr(self, "norm"):
            y = self.norm(y)
        if self.act == "relu":
            y = F.relu(y)
        elif self.act == "silu":
            y = F.silu(y)
        elif self.act == "tanh":
            y = torch.tanh(y)
        else:
            y = F.leaky_relu(y, 0.01)
        return x + y


class _ConvBn(nn.Module):  # relu(bn(conv(x))), 3x3
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv = _same_conv(c_in, c_out, 3, stride=stride)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Classifier(nn.Module):
    """The classify_cnn network: stem -> stage 0 cells -> reduce.0 -> stage 1 cells -> reduce.1
    -> stage 2 cells -> global average pool -> head. Input: N x 1 x H x W images normalised as
    (pixel / 255 - 0.2860) / 0.3530; output: N x n_classes logits."""

    def __init__(self, cells, channels, cells_per_stage, n_classes=10, image_channels=1):
        """cells: per cell (op, norm, act) option names, 3 * cells_per_stage of them."""
        super().__init__()
        if len(cells) != 3 * cells_per_stage:
            raise ValueError(f"{len(cells)} cells given, expected 3 * cells_per_stage = {3 * cells_per_stage}")
        c = channels
        self.cells_per_stage = cells_per_stage
        self.stem = _ConvBn(image_channels, c, 2)
        self.cells = nn.ModuleList(
            _Cell(c << (i // cells_per_stage), *cells[i]) for i in range(len(cells)))
        self.reduce = nn.ModuleList(_ConvBn(c << s, c << (s + 1), 2) for s in range(2))
        self.head = nn.Linear(4 * c, n_classes)

    def forward(self, x):
        h = self.stem(x)
        for i, cell in enumerate(self.cells):
            h = cell(h)
            stage = i // self.cells_per_stage
            if (i + 1) % self.cells_per_stage == 0 and stage < len(self.reduce):
                h = self.reduce[stage](h)
        return self.head(h.mean(dim=(2, 3)))


def _build_classifier(arch):
    m = arch["model"]
    genes = {g["name"]: g["option_name"] for g in arch["genes"]}
    n_cells = 3 * m["cells_per_stage"]
    cells = [(genes[f"cell{i}.op"], genes[f"cell{i}.norm"], genes[f"cell{i}.act"]) for i in range(n_cells)]
    return Classifier(cells, m["channels"], m["cells_per_stage"], m.get("n_classes", 10),
                      m.get("image_channels", 1))


# --------------------------------------------------------------------------------------------
# gan_easy / gan_hard generator (task: gan)

EDGE_OPS = ["none", "skip_connect", "conv_1x1", "conv_3x3", "conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]
UP_OPS = ["nearest", "bilinear", "convtranspose"]
PROJECTION_LINEAR = ["whole_bottom", "whole_prev", "whole_target", "part_bottom", "part_prev", "part_target"]
UP_MODES = ["nearest", "bilinear"]


def _interpolate(x, mode, scale=None, size=None):
    if mode == "bilinear":
        return F.interpolate(x, size=size, scale_factor=scale, mode="bilinear", align_corners=False)
    return F.interpolate(x, size=size, scale_factor=scale, mode="nearest")


class _PreActConv(nn.Module):  # relu -> conv (bias), "same" padding; child `conv`
    def __init__(self, c, k, dilation):
        super().__init__()
        self.conv = nn.Conv2d(c, c, k, padding=dilation * (k - 1) // 2, dilation=dilation)

    def forward(self, x):
        return self.conv(F.relu(x))


def _edge_op(name, c):
    """None for 'none'."""
    table = {"conv_1x1": (1, 1), "conv_3x3": (3, 1), "conv_5x5": (5, 1),
             "dil_conv_3x3": (3, 2), "dil_conv_5x5": (5, 2)}
    if name == "none":
        return None
    if name == "skip_connect":
        return _Empty()
    if name in table:
        return _PreActConv(c, *table[name])
    raise ValueError(f"unknown edge op {name!r}; expected one of {EDGE_OPS}")


class _UpOp(nn.Module):
    """x2 upsampling: interpolate -> relu -> conv1x1 (bias); or relu -> depthwise transposed conv
    3x3 stride 2 (no bias) -> conv1x1 (no bias)."""

    def __init__(self, name, c):
        super().__init__()
        if name not in UP_OPS:
            raise ValueError(f"unknown up op {name!r}; expected one of {UP_OPS}")
        self.mode = name
        if name == "convtranspose":
            self.deconv = nn.ConvTranspose2d(c, c, 3, stride=2, padding=1, output_padding=1, groups=c, bias=False)
            self.conv = nn.Conv2d(c, c, 1, bias=False)
        else:
            self.conv = nn.Conv2d(c, c, 1)

    def forward(self, x):
        if self.mode == "convtranspose":
            return self.conv(self.deconv(F.relu(x)))
        return self.conv(F.relu(_interpolate(x, self.mode, scale=2.0)))


class _Projection(nn.Module):
    """Linear projection of z to gf x target x target (child `linear`); None when disabled."""

    def __init__(self, index, linear, up_mode, dropout, enabled, gf_dim, latent_dim, bottom_width):
        super().__init__()
        if linear not in PROJECTION_LINEAR:
            raise ValueError(f"unknown projection {linear!r}; expected one of {PROJECTION_LINEAR}")
        if up_mode not in UP_MODES:
            raise ValueError(f"unknown projection up_mode {up_mode!r}; expected one of {UP_MODES}")
        option = PROJECTION_LINEAR.index(linear)
        self.index, self.gf, self.enabled, self.dropout = index, gf_dim, enabled, dropout
        self.whole = option < 3
        self.up_mode = up_mode
        self.in_dim = latent_dim if self.whole else latent_dim // 3
        target = bottom_width << index
        kind = option % 3  # bottom, prev, target
        if kind == 0:
            self.out_width = bottom_width
        elif kind == 1:
            self.out_width = bottom_width // 2 if index == 0 else bottom_width << (index - 1)
        else:
            self.out_width = target
        self.scale = target // self.out_width
        self.linear = nn.Linear(self.in_dim, self.out_width * self.out_width * gf_dim)

    def forward(self, z):
        if not self.enabled:
            return None
        h = z if self.whole else z[:, self.index * self.in_dim:(self.index + 1) * self.in_dim]
        h = self.linear(h).view(-1, self.gf, self.out_width, self.out_width)
        if self.scale > 1:
            h = _interpolate(h, self.up_mode, scale=float(self.scale))
        if self.dropout > 0.0:
            h = F.dropout(h, p=self.dropout, training=self.training)
        return h


class _SliceProjection(nn.Module):
    """GanEasy's STL-10 projection (`stl_projections`): z[:, begin:end] -> Linear -> gf x width x width,
    no upsampling, no dropout (child `linear`)."""

    def __init__(self, begin, end, width, gf_dim):
        super().__init__()
        self.begin, self.end, self.width, self.gf = begin, end, width, gf_dim
        self.linear = nn.Linear(end - begin, width * width * gf_dim)

    def forward(self, z):
        return self.linear(z[:, self.begin:self.end]).view(-1, self.gf, self.width, self.width)


def _sum(a, b):
    return b if a is None else (a if b is None else a + b)


class _GenCell(nn.Module):
    """Generator cell: gf -> gf channels, x2 spatial. Children up0, up1, c0..c4 (absent for
    'none'), skip_in.<j> (1x1 convs of earlier cells' skip outputs)."""

    def __init__(self, ops, c, bilinear_skip, n_skip_in):
        """ops: option names [up0, up1, c0, c1, c2, c3, c4]."""
        super().__init__()
        self.up0 = _UpOp(ops[0], c)
        self.up1 = _UpOp(ops[1], c)
        self.edges = []
        for i in range(5):
            op = _edge_op(ops[2 + i], c)
            if op is not None:
                setattr(self, f"c{i}", op)
            self.edges.append(f"c{i}" if op is not None else None)
        if n_skip_in > 0:
            self.skip_in = nn.ModuleList(nn.Conv2d(c, c, 1) for _ in range(n_skip_in))
        self.n_skip_in = n_skip_in
        self.bilinear_skip = bilinear_skip

    def _edge(self, i, x):
        name = self.edges[i]
        return None if name is None else getattr(self, name)(x)

    def forward(self, x, skips):
        if len(skips) != self.n_skip_in:
            raise ValueError(f"cell expects {self.n_skip_in} skip inputs, got {len(skips)}")
        node0, node1 = self.up0(x), self.up1(x)
        if self.edges[0] is not None or self.edges[1] is not None:
            node2 = _sum(self._edge(0, node0), self._edge(1, node1))
        else:
            node2 = node0 + node1
        size = (node0.shape[2], node0.shape[3])
        for j, s in enumerate(skips):
            node2 = node2 + self.skip_in[j](_interpolate(s, "bilinear" if self.bilinear_skip else "nearest", size=size))
        node3 = _sum(_sum(self._edge(2, node0), self._edge(3, node1)), self._edge(4, node2))
        if node3 is None:
            node3 = node2
        return node2, node3


class Generator(nn.Module):
    """The PBT-NAS (AdversarialNAS) generator: three projections of z, three cells, to_rgb.
    Input: N x latent_dim latents (standard normal); output: N x image_channels x (8 bottom_width)^2
    images in [-1, 1]."""

    def __init__(self, space, genes, gf_dim, latent_dim, bottom_width, image_channels, stl_projections=False):
        """space: "gan_easy" or "gan_hard"; genes: gene name -> option name; stl_projections (gan_easy
        only): the two STL-10 projections of z's halves instead of three part_target ones."""
        super().__init__()
        if space not in ("gan_easy", "gan_hard"):
            raise ValueError(f"unknown GAN search space {space!r}; expected gan_easy or gan_hard")
        if latent_dim % 3 != 0:
            raise ValueError(f"latent_dim must be a multiple of 3, got {latent_dim}")
        self.latent_dim = latent_dim
        projections = []
        if stl_projections and space != "gan_easy":
            raise ValueError("stl_projections applies to gan_easy only")
        for i in range(3):
            if stl_projections:
                if i < 2:
                    half = latent_dim // 2
                    projections.append(_SliceProjection(i * half, (i + 1) * half, bottom_width << i, gf_dim))
            elif space == "gan_hard":
                enabled = i == 0 or genes[f"proj{i}.if_enabled"] == "True"
                dropout = float(genes[f"proj{i}.dropout"])
                projections.append(_Projection(i, genes[f"proj{i}.linear"], genes[f"proj{i}.up_mode"], dropout,
                                               enabled, gf_dim, latent_dim, bottom_width))
            else:
                projections.append(_Projection(i, "part_target", "nearest", 0.0, True, gf_dim, latent_dim, bottom_width))
        if space == "gan_hard":
            self.projections = nn.ModuleList(projections)
        else:
            self.fixed_projections = nn.ModuleList(projections)
        self._projections = projections
        for k in range(1, 4):
            ops = [genes[f"cell{k}.{node}"] for node in ("up0", "up1", "c0", "c1", "c2", "c3", "c4")]
            setattr(self, f"cell{k}", _GenCell(ops, gf_dim, bilinear_skip=(k == 2), n_skip_in=k - 1))
        self.to_rgb = nn.Module()
        self.to_rgb.bn = nn.BatchNorm2d(gf_dim)
        self.to_rgb.conv = nn.Conv2d(gf_dim, image_channels, 3, padding=1)

    def forward(self, z):
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must be N x {self.latent_dim}, got {tuple(z.shape)}")
        p = [proj(z) for proj in self._projections] + [None] * (3 - len(self._projections))
        h1_skip, h1 = self.cell1(p[0], [])
        if p[1] is not None:
            h1 = h1 + p[1]
        h2_skip, h2 = self.cell2(h1, [h1_skip])
        if p[2] is not None:
            h2 = h2 + p[2]
        _, h3 = self.cell3(h2, [h1_skip, h2_skip])
        return torch.tanh(self.to_rgb.conv(F.relu(self.to_rgb.bn(h3))))


def _build_generator(arch):
    m = arch["model"]
    genes = {g["name"]: g["option_name"] for g in arch["genes"]}
    return Generator(arch["space"], genes, m["gf_dim"], m["latent_dim"], m["bottom_width"], m["image_channels"],
                     m.get("stl_projections", False))


# --------------------------------------------------------------------------------------------
# Entry points

def _read_architecture(directory):
    path = os.path.join(directory, "architecture.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist; pass the folder written by `pbtnas export FILE.h5 --out DIR`")
    with open(path) as f:
        arch = json.load(f)
    if arch.get("format") != "pbtnas-export":
        raise ValueError(f"{path} is not a pbtnas export (format {arch.get('format')!r})")
    if arch.get("format_version", 0) > 1:
        raise ValueError(f"{path} has format_version {arch['format_version']}; this module reads version 1, "
                         "use the pbtnas_models.py of the pbtnas that exported it")
    return arch


def build(arch):
    """The network described by an architecture.json dict (a dict or the folder holding the
    file), with PyTorch's default initialisation (no weights loaded), in eval mode."""
    if isinstance(arch, (str, os.PathLike)):
        arch = _read_architecture(arch)
    if arch["space"] == "classify_cnn":
        net = _build_classifier(arch)
    elif arch["space"] in ("gan_easy", "gan_hard"):
        net = _build_generator(arch)
    else:
        raise ValueError(f"search space {arch['space']!r} (task {arch.get('task')!r}) is not covered by "
                         "pbtnas_models.py; it rebuilds classify_cnn, gan_easy and gan_hard")
    return net.eval()


def load(directory, map_location="cpu"):
    """The exported network of `directory` with its weights (strict), in eval mode."""
    net = build(_read_architecture(directory))
    state = torch.load(os.path.join(directory, "model.pt"), map_location=map_location)
    net.load_state_dict(state, strict=True)
    return net.to(map_location).eval()


def load_example(directory):
    """(input, output) of DIR/example.pt: fixed inputs and pbtnas's own outputs for them."""
    example = torch.load(os.path.join(directory, "example.pt"), map_location="cpu")
    return example["input"], example["output"]


def check(directory, rtol=RTOL, atol=ATOL):
    """Rebuilds the network, runs example.pt's input through it and returns (ok, max abs diff)."""
    net = load(directory)
    x, expected = load_example(directory)
    with torch.no_grad():
        got = net(x)
    diff = (got - expected).abs().max().item()
    return bool(torch.allclose(got, expected, rtol=rtol, atol=atol)), diff


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(f"usage: {argv[0]} DIR   (a folder written by `pbtnas export FILE.h5 --out DIR`)", file=sys.stderr)
        return 2
    arch = _read_architecture(argv[1])
    ok, diff = check(argv[1])
    print(f"{arch['space']} {arch.get('network', '')}: max abs difference from pbtnas's output {diff:.3g} "
          f"({'ok' if ok else 'MISMATCH'}, rtol {RTOL}, atol {ATOL})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
