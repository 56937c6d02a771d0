#!/usr/bin/env python3
"""PyTorch mirror of the pbtnas GAN networks and of one GanTask::train iteration (benchmark).

Rebuilds, module for module, the generator and discriminator of the C++ code
(src/tasks/gan/gan_generator.cpp, gan_discriminator.cpp, gan_spectral_norm.cpp, gan_spaces.cpp) for
any genome of gan_easy (21 genes) or gan_hard (72 genes), and times the training iteration of
GanTask::train (src/tasks/gan/gan_task.cpp):

  every iteration i:    D step  real batch (d_batch, index_select from a random stand-in data
                                set) + fake batch G(z).detach() of the same size, z ~ N(0, 1);
                                hinge loss; d_loss.item(); backward; Adam step
  i % n_critic == 0:    G step  g_batch_multiplier * d_batch samples, -mean D(G(z));
                                g_loss.item(); backward; Adam step; EMA update of G's parameters

Adam: lr 2e-4, betas (0, 0.9), eps 1e-4, weight decay 0 (single-tensor loop, as LibTorch).
Spectral norm: torch.nn.utils.spectral_norm (old style: weight_orig parameter, weight_u /
weight_v buffers, one power iteration per training forward), which the C++ SNConv2d / SNLinear
reproduce. Initial values need not match the C++ (timing only); parameter counts do, and the
module / parameter names mirror the C++ ones (--list-params prints them).

Usage:
  /usr/bin/python3 jobs/bench/gan_step.py --space gan_hard --genome 0,1,0,... \
      --gf-dim 32 --df-dim 32 --latent-dim 120 --bottom-width 4 --channels 1 \
      --d-batch 40 --g-batch-multiplier 2 --n-critic 5 --iters 50 --warmup 5 --threads 1
  /usr/bin/python3 jobs/bench/gan_step.py --self-check

stdout: one JSON line {"ms_per_iter", "iters", "params_generator", "params_discriminator",
"torch", "threads", ...}; everything else goes to stderr. Bad arguments: exit code 2.
"""
import argparse
import copy
import json
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------- search spaces
# Option lists in the documented order (src/tasks/gan/gan_spaces.cpp).
EDGE_OPS = ["none", "skip_connect", "conv_1x1", "conv_3x3", "conv_5x5", "dil_conv_3x3",
            "dil_conv_5x5"]
UP_OPS = ["nearest", "bilinear", "convtranspose"]
PROJ_LINEAR = ["whole_bottom", "whole_prev", "whole_target", "part_bottom", "part_prev",
               "part_target"]
UP_MODES = ["nearest", "bilinear"]
DROPOUTS = ["0.0", "0.1", "0.2"]
BOOLS = ["False", "True"]
D_INPUT_OPS = ["conv_1x1", "conv_3x3", "conv_5x5", "dil_conv_3x3", "dil_conv_5x5"]
DOWN_OPS = ["avg_pool_input", "max_pool_input", "avg_pool", "max_pool", "conv_3x3", "conv_5x5",
            "dil_conv_3x3", "dil_conv_5x5"]


def _cell_genes():
    genes = []
    for k in range(1, 4):
        for up in ("up0", "up1"):
            genes.append(("cell%d.%s" % (k, up), UP_OPS))
        for c in range(5):
            genes.append(("cell%d.c%d" % (k, c), EDGE_OPS))
    return genes


def space_genes(space):
    """[(gene name, option names)] in genome order."""
    if space == "gan_easy":
        return _cell_genes()
    if space != "gan_hard":
        raise ValueError("unknown GAN search space '%s'; expected gan_easy or gan_hard" % space)
    genes = []
    for i in range(3):
        if i > 0:
            genes.append(("proj%d.if_enabled" % i, BOOLS))
        genes.append(("proj%d.linear" % i, PROJ_LINEAR))
        genes.append(("proj%d.up_mode" % i, UP_MODES))
        genes.append(("proj%d.dropout" % i, DROPOUTS))
    genes += _cell_genes()
    for b in range(1, 5):
        for c in range(7):
            genes.append(("dblock%d.c%d" % (b, c),
                          D_INPUT_OPS if (b == 1 and c < 3) else EDGE_OPS))
        genes.append(("dblock%d.downsample" % b, BOOLS))
        for d in ("down0", "down1"):
            genes.append(("dblock%d.%s" % (b, d), DOWN_OPS))
    return genes


def validate_genome(space, genome):
    genes = space_genes(space)
    if len(genome) != len(genes):
        raise ValueError("the %s genome needs %d genes, got %d" % (space, len(genes), len(genome)))
    for g, (o, (name, opts)) in enumerate(zip(genome, genes)):
        if not 0 <= o < len(opts):
            raise ValueError("gene %d (%s) has option %d, expected 0..%d" %
                             (g, name, o, len(opts) - 1))


class Cfg:
    def __init__(self, gf_dim, df_dim, latent_dim, bottom_width, channels, faithful_d_block):
        self.gf_dim = gf_dim
        self.df_dim = df_dim
        self.latent_dim = latent_dim
        self.bottom_width = bottom_width
        self.image_channels = channels
        self.faithful_d_block = faithful_d_block

    def validate(self):  # validate_model_config
        if self.gf_dim < 1:
            raise ValueError("gf_dim must be >= 1 (got %d)" % self.gf_dim)
        if self.df_dim < 1:
            raise ValueError("df_dim must be >= 1 (got %d)" % self.df_dim)
        if self.latent_dim < 3 or self.latent_dim % 3 != 0:
            raise ValueError("latent_dim must be a positive multiple of 3 (got %d); the 'part' "
                             "projections take thirds of z" % self.latent_dim)
        if self.bottom_width < 2:
            raise ValueError("bottom_width must be >= 2 (got %d)" % self.bottom_width)
        if self.image_channels < 1:
            raise ValueError("channels must be >= 1 (got %d)" % self.image_channels)


# ----------------------------------------------------------------------------- ops
def sn(module):
    # Old-style spectral norm: registers weight_orig (parameter, after the bias), weight_u and
    # weight_v (buffers); one power iteration per forward in training mode, none in eval mode.
    return nn.utils.spectral_norm(module, n_power_iterations=1, eps=1e-12)


class ConvOp(nn.Module):
    """[ReLU ->] conv k x k with bias, padding dilation*(k-1)//2; child `conv` (SN when sn)."""

    def __init__(self, cin, cout, k, dilation, stride, pre_act, spectral):
        super().__init__()
        pad = dilation * (k - 1) // 2
        conv = nn.Conv2d(cin, cout, k, stride=stride, padding=pad, dilation=dilation, bias=True)
        self.conv = sn(conv) if spectral else conv
        self.pre_act = pre_act

    def forward(self, x):
        return self.conv(F.relu(x) if self.pre_act else x)


def make_edge_op(option, ch, spectral):
    if option == 0:
        return None  # none
    if option == 1:
        return nn.Identity()  # skip_connect
    k, dil = {2: (1, 1), 3: (3, 1), 4: (5, 1), 5: (3, 2), 6: (5, 2)}[option]
    return ConvOp(ch, ch, k, dil, 1, True, spectral)


class UpOp(nn.Module):
    """interpolate x2 -> ReLU -> conv1x1 (bias), or ReLU -> depthwise ConvTranspose 3x3 s2 (no
    bias) -> conv1x1 (no bias). Children deconv (first), conv."""

    def __init__(self, option, ch):
        super().__init__()
        self.mode = option
        if option == 2:
            self.deconv = nn.ConvTranspose2d(ch, ch, 3, stride=2, padding=1, output_padding=1,
                                             groups=ch, bias=False)
            self.conv = nn.Conv2d(ch, ch, 1, bias=False)
        else:
            self.conv = nn.Conv2d(ch, ch, 1, bias=True)

    def forward(self, x):
        if self.mode == 2:
            return self.conv(self.deconv(F.relu(x)))
        if self.mode == 0:
            h = F.interpolate(x, scale_factor=(2.0, 2.0), mode="nearest")
        else:
            h = F.interpolate(x, scale_factor=(2.0, 2.0), mode="bilinear", align_corners=False)
        return self.conv(F.relu(h))


def resize(x, h, w, bilinear):
    if bilinear:
        return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    return F.interpolate(x, size=(h, w), mode="nearest")


def sum_defined(a, b):
    if a is None:
        return b
    return a + b if b is not None else a


# ----------------------------------------------------------------------------- generator
class GanProjection(nn.Module):
    def __init__(self, index, linear_option, up_mode, dropout, enabled, cfg):
        super().__init__()
        self.index, self.gf, self.enabled, self.dropout = index, cfg.gf_dim, enabled, dropout
        self.whole = linear_option < 3
        self.bilinear = up_mode == 1
        self.in_dim = cfg.latent_dim if self.whole else cfg.latent_dim // 3
        target = cfg.bottom_width << index
        kind = linear_option % 3  # bottom, prev, target
        if kind == 0:
            self.out_width = cfg.bottom_width
        elif kind == 1:
            self.out_width = (cfg.bottom_width // 2 if index == 0
                              else cfg.bottom_width << (index - 1))
        else:
            self.out_width = target
        self.scale = target // self.out_width
        self.linear = nn.Linear(self.in_dim, self.out_width * self.out_width * self.gf)

    def forward(self, z):
        if not self.enabled:
            return None
        h = z if self.whole else z[:, self.index * self.in_dim:(self.index + 1) * self.in_dim]
        h = self.linear(h).view(-1, self.gf, self.out_width, self.out_width)
        if self.scale > 1:
            s = float(self.scale)
            if self.bilinear:
                h = F.interpolate(h, scale_factor=(s, s), mode="bilinear", align_corners=False)
            else:
                h = F.interpolate(h, scale_factor=(s, s), mode="nearest")
        if self.dropout > 0.0:
            h = F.dropout(h, p=self.dropout, training=self.training)
        return h


class GanCell(nn.Module):
    def __init__(self, genes, ch, bilinear_skip, n_skip_in):
        super().__init__()
        assert len(genes) == 7
        self.up0 = UpOp(genes[0], ch)
        self.up1 = UpOp(genes[1], ch)
        self.c = []
        for i in range(5):
            op = make_edge_op(genes[2 + i], ch, False)
            if op is not None:
                setattr(self, "c%d" % i, op)
            self.c.append(op)
        self.bilinear_skip = bilinear_skip
        self.n_skip_in = n_skip_in
        if n_skip_in > 0:
            self.skip_in = nn.ModuleList([nn.Conv2d(ch, ch, 1) for _ in range(n_skip_in)])

    def forward(self, x, skip_in):
        assert len(skip_in) == self.n_skip_in
        c = self.c
        node0 = self.up0(x)
        node1 = self.up1(x)
        node2 = None
        if c[0] is not None or c[1] is not None:
            if c[0] is not None:
                node2 = c[0](node0)
            if c[1] is not None:
                node2 = sum_defined(node2, c[1](node1))
        else:
            node2 = node0 + node1
        for j in range(self.n_skip_in):
            node2 = node2 + self.skip_in[j](
                resize(skip_in[j], node0.size(2), node0.size(3), self.bilinear_skip))
        skip_out = node2
        node3 = None
        if c[2] is not None:
            node3 = c[2](node0)
        if c[3] is not None:
            node3 = sum_defined(node3, c[3](node1))
        if c[4] is not None:
            node3 = sum_defined(node3, c[4](node2))
        if node3 is None:
            node3 = node2
        return skip_out, node3


class ToRgb(nn.Module):
    def __init__(self, gf, channels):
        super().__init__()
        self.bn = nn.BatchNorm2d(gf)
        self.conv = nn.Conv2d(gf, channels, 3, padding=1)


class GanGenerator(nn.Module):
    def __init__(self, space, genome, cfg):
        super().__init__()
        hard = space == "gan_hard"
        self.latent_dim = cfg.latent_dim
        projs = []
        for i in range(3):
            if hard:
                base = 0 if i == 0 else 4 * i - 1  # genes 0-2, 3-6, 7-10
                enabled = i == 0 or genome[base] == 1
                g = base if i == 0 else base + 1
                projs.append(GanProjection(i, genome[g], genome[g + 1], 0.1 * genome[g + 2],
                                           enabled, cfg))
            else:
                projs.append(GanProjection(i, 5, 0, 0.0, True, cfg))  # part_target, fixed
        if hard:
            self.projections = nn.ModuleList(projs)
        else:
            self.fixed_projections = nn.ModuleList(projs)
        self.projs = projs
        cell_base = 11 if hard else 0
        self.cells = []
        for k in range(3):
            cell = GanCell(genome[cell_base + 7 * k:cell_base + 7 * (k + 1)], cfg.gf_dim,
                           k == 1, k)
            setattr(self, "cell%d" % (k + 1), cell)
            self.cells.append(cell)
        self.to_rgb = ToRgb(cfg.gf_dim, cfg.image_channels)

    def forward(self, z):
        p = [proj(z) for proj in self.projs]
        h1_skip, h1 = self.cells[0](p[0], [])
        if p[1] is not None:
            h1 = h1 + p[1]
        h2_skip, h2 = self.cells[1](h1, [h1_skip])
        if p[2] is not None:
            h2 = h2 + p[2]
        h3 = self.cells[2](h2, [h1_skip, h2_skip])[1]
        return torch.tanh(self.to_rgb.conv(F.relu(self.to_rgb.bn(h3))))


# ----------------------------------------------------------------------------- discriminators
def avg_pool2(x):
    return F.avg_pool2d(x, 2, stride=2)


def sn_conv(cin, cout, k):
    return sn(nn.Conv2d(cin, cout, k, padding=(k - 1) // 2))


class AutoGanBlock(nn.Module):
    def __init__(self, cin, cout, optimized, downsample):
        super().__init__()
        self.optimized, self.downsample = optimized, downsample
        self.c1 = sn_conv(cin, cout, 3)
        self.c2 = sn_conv(cout, cout, 3)
        self.has_sc = optimized or downsample or cin != cout
        if self.has_sc:
            self.c_sc = sn_conv(cin, cout, 1)

    def forward(self, x):
        if self.optimized:
            r = avg_pool2(self.c2(F.relu(self.c1(x))))
            return r + self.c_sc(avg_pool2(x))
        r = self.c2(F.relu(self.c1(F.relu(x))))
        if self.downsample:
            r = avg_pool2(r)
        s = x
        if self.has_sc:
            s = self.c_sc(x)
            if self.downsample:
                s = avg_pool2(s)
        return r + s


class AutoGanDiscriminator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch = cfg.df_dim
        self.block1 = AutoGanBlock(cfg.image_channels, ch, True, True)
        self.block2 = AutoGanBlock(ch, ch, False, True)
        self.block3 = AutoGanBlock(ch, ch, False, False)
        self.block4 = AutoGanBlock(ch, ch, False, False)
        self.l5 = sn(nn.Linear(ch, 1, bias=False))
        self.blocks = [self.block1, self.block2, self.block3, self.block4]

    def forward(self, x):
        h = x
        for b in self.blocks:
            h = b(h)
        return self.l5(F.relu(h).sum(dim=(2, 3)))


class PoolOp(nn.Module):
    def __init__(self, is_max):
        super().__init__()
        self.is_max = is_max

    def forward(self, x):
        return F.max_pool2d(x, 2, stride=2) if self.is_max else avg_pool2(x)


def make_down_op(option, ch):
    if option < 4:
        return PoolOp(option % 2 == 1)
    k = [0, 0, 0, 0, 3, 5, 3, 5][option]
    return ConvOp(ch, ch, k, 2 if option >= 6 else 1, 2, True, True)


class GanHardBlock(nn.Module):
    def __init__(self, genes, cin, ch, first, faithful):
        super().__init__()
        kernel = [1, 3, 5, 3, 5]
        self.faithful = faithful
        self.c = []
        for i in range(7):
            if first and i < 3:  # reads the image, no pre-activation, 5 options
                o = genes[i]
                op = ConvOp(cin, ch, kernel[o], 2 if o >= 3 else 1, 1, False, True)
            else:
                op = make_edge_op(genes[i], ch, True)
            if op is not None:
                setattr(self, "c%d" % i, op)
            self.c.append(op)
        self.downsample_on = genes[7] == 1
        self.down0 = make_down_op(genes[8], ch)
        self.down1 = make_down_op(genes[9], ch)
        self.down = [self.down0, self.down1]
        self.on_input = [genes[8] < 2, genes[9] < 2]

    def forward(self, x):
        c = self.c
        if c[0] is None and c[1] is None and c[2] is None:
            return x
        n = [c[i](x) if c[i] is not None else None for i in range(3)]
        for j in (1, 2):
            if n[j] is None:
                continue
            down_in = self.downsample_on and self.on_input[j - 1]
            if down_in:
                n[j] = self.down[j - 1](n[j])
            if c[2 + j] is not None and n[0] is not None:
                t = c[2 + j](n[0])
                if down_in:
                    t = self.down[j - 1](t)
                n[j] = n[j] + t
            if c[4 + j] is not None:
                n[j] = c[4 + j](n[j])
        if n[1] is None and n[2] is None:
            return n[0]
        for j in (1, 2):
            if n[j] is not None and self.downsample_on and not self.on_input[j - 1]:
                n[j] = self.down[j - 1](n[j])
        if n[1] is None:
            return n[2]
        if n[2] is None:
            return n[1]
        # Released code (B1 in docs/algorithm.md): branch 2 is computed, then the sum is
        # overwritten by branch 1.
        return n[1] if self.faithful else n[1] + n[2]


class GanHardDiscriminator(nn.Module):
    def __init__(self, genome, cfg):
        super().__init__()
        self.blocks = []
        for b in range(4):
            blk = GanHardBlock(genome[32 + 10 * b:42 + 10 * b],
                               cfg.image_channels if b == 0 else cfg.df_dim, cfg.df_dim, b == 0,
                               cfg.faithful_d_block)
            setattr(self, "block%d" % (b + 1), blk)
            self.blocks.append(blk)
        self.l5 = sn(nn.Linear(cfg.df_dim, 1, bias=False))

    def forward(self, x):
        h = x
        for b in self.blocks:
            h = b(h)
        return self.l5(F.relu(h).sum(dim=(2, 3)))


class GanNet(nn.Module):
    def __init__(self, space, genome, cfg):
        super().__init__()
        cfg.validate()
        validate_genome(space, genome)
        self.generator = GanGenerator(space, genome, cfg)
        self.discriminator = (AutoGanDiscriminator(cfg) if space == "gan_easy"
                              else GanHardDiscriminator(genome, cfg))


def init_net(net, seed):
    """Roughly the GAN init of docs/algorithm.md (need not match the C++; keeps numerics sane)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                w = m.weight_orig if hasattr(m, "weight_orig") else m.weight
                fan = w[0][0].numel()
                bound = (6.0 / ((w.size(0) + w.size(1)) * fan)) ** 0.5
                w.uniform_(-bound, bound, generator=gen)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.normal_(1.0, 0.02, generator=gen)
                m.bias.zero_()


def count(module):
    return sum(p.numel() for p in module.parameters())


# ----------------------------------------------------------------------------- analytic counts
def expected_counts(space, genome, cfg):
    """Parameter counts derived independently from the C++ constructors (self-check)."""
    gf, df, lat, bw, C = (cfg.gf_dim, cfg.df_dim, cfg.latent_dim, cfg.bottom_width,
                          cfg.image_channels)
    hard = space == "gan_hard"
    g = 0
    for i in range(3):
        if hard:
            lin = genome[0] if i == 0 else genome[4 * i]
        else:
            lin = 5
        in_dim = lat if lin < 3 else lat // 3
        kind = lin % 3
        ow = bw if kind == 0 else ((bw // 2 if i == 0 else bw << (i - 1)) if kind == 1
                                   else bw << i)
        g += in_dim * ow * ow * gf + ow * ow * gf
    edge = {0: 0, 1: 0, 2: 1, 3: 9, 4: 25, 5: 9, 6: 25}
    base = 11 if hard else 0
    for k in range(3):
        genes = genome[base + 7 * k:base + 7 * k + 7]
        for u in genes[:2]:
            g += gf * 9 + gf * gf if u == 2 else gf * gf + gf
        for e in genes[2:]:
            g += gf * gf * edge[e] + gf if edge[e] else 0
        g += k * (gf * gf + gf)
    g += 2 * gf + C * gf * 9 + C
    d = df  # l5, no bias
    if not hard:
        d += (C * df * 9 + df) + (df * df * 9 + df) + (C * df + df)
        d += 2 * (df * df * 9 + df) + (df * df + df)
        d += 2 * 2 * (df * df * 9 + df)
        return g, d
    for b in range(4):
        genes = genome[32 + 10 * b:42 + 10 * b]
        for i in range(7):
            if b == 0 and i < 3:
                k2 = [1, 9, 25, 9, 25][genes[i]]
                d += C * df * k2 + df
            elif edge[genes[i]]:
                d += df * df * edge[genes[i]] + df
        for o in genes[8:10]:
            if o >= 4:
                d += df * df * [9, 25, 9, 25][o - 4] + df
    return g, d


# ----------------------------------------------------------------------------- training step
class Trainer:
    """One member's state and the GanTask::train iteration."""

    def __init__(self, space, genome, cfg, d_batch, g_mult, n_critic, seed, data_size,
                 ema_decay=0.999, device="cpu"):
        self.cfg = cfg
        self.device = torch.device(device)
        self.net = GanNet(space, genome, cfg)
        init_net(self.net, seed)
        # As GanTask: the networks live on the device; the data set and the latent draws stay on
        # the CPU and each batch is copied over.
        self.net.to(self.device)
        self.G, self.D = self.net.generator, self.net.discriminator
        self.ema = copy.deepcopy(self.G)
        self.ema.eval()
        self.net.train()
        names_ema = dict(self.ema.named_parameters())
        self.pairs = [(names_ema[n], p) for n, p in self.G.named_parameters()]
        assert len(self.pairs) == len(names_ema)

        def adam(params):
            return torch.optim.Adam(params, lr=2e-4, betas=(0.0, 0.9), eps=1e-4,
                                    weight_decay=0.0)
        self.opt_g = adam(self.G.parameters())
        self.opt_d = adam(self.D.parameters())
        self.d_batch, self.g_batch = d_batch, g_mult * d_batch
        self.n_critic, self.decay = n_critic, ema_decay
        self.zgen = torch.Generator().manual_seed(seed + 1)
        torch.manual_seed(seed + 2)  # dropout and the data permutation use the global RNG
        side = cfg.bottom_width * 8
        n = max(data_size, d_batch)
        self.data = (torch.rand(n, cfg.image_channels, side, side, generator=self.zgen) * 2 - 1)
        self.perm, self.offset = None, n

    def real_batch(self):
        n = self.data.size(0)
        if self.offset >= n:  # a new permutation per pass, last batch possibly smaller
            self.perm, self.offset = torch.randperm(n), 0
        idx = self.perm[self.offset:self.offset + self.d_batch].clone()
        self.offset += self.d_batch
        return self.data.index_select(0, idx).to(self.device)

    def iteration(self, i):
        """Returns (d_loss, g_loss or None); raises on a non-finite loss."""
        real = self.real_batch()
        b = real.size(0)
        z = torch.randn(b, self.cfg.latent_dim, generator=self.zgen).to(self.device)
        self.opt_d.zero_grad()
        fake = self.G(z).detach()
        d_loss = F.relu(1.0 - self.D(real)).mean() + F.relu(1.0 + self.D(fake)).mean()
        d_value = d_loss.item()
        if d_value != d_value or abs(d_value) == float("inf"):
            raise FloatingPointError("non-finite D loss %r" % d_value)
        d_loss.backward()
        self.opt_d.step()
        if i % self.n_critic != 0:
            return d_value, None
        gz = torch.randn(self.g_batch, self.cfg.latent_dim, generator=self.zgen).to(self.device)
        self.opt_g.zero_grad()
        g_loss = -self.D(self.G(gz)).mean()
        g_value = g_loss.item()
        if g_value != g_value or abs(g_value) == float("inf"):
            raise FloatingPointError("non-finite G loss %r" % g_value)
        g_loss.backward()
        self.opt_g.step()
        with torch.no_grad():
            for avg, p in self.pairs:
                avg.mul_(self.decay).add_(p, alpha=1.0 - self.decay)
        return d_value, g_value


# ----------------------------------------------------------------------------- self-check
def self_check(seed, threads):
    torch.set_num_threads(threads)
    rng = random.Random(seed)
    failures = []
    n_runs = 0
    t0 = time.perf_counter()
    for space in ("gan_easy", "gan_hard"):
        genes = space_genes(space)
        n_opts = [len(o) for _, o in genes]
        covered = set()
        genomes = []
        # Columns: genome k takes option k mod n for every gene -> every option of every gene.
        for k in range(max(n_opts)):
            genomes.append([k % n for n in n_opts])
        for _ in range(16):  # random genomes: mixtures of the ops inside cells and D blocks
            genomes.append([rng.randrange(n) for n in n_opts])
        if space == "gan_hard":
            # Targeted D-block wirings: blocks 2-4 with no c0..c2 (block returns its input),
            # with only c0 (returns n0), only c2 (returns branch 2), and all ops present.
            for c012 in ([0, 0, 0], [2, 0, 0], [0, 0, 3], [3, 4, 0], [1, 2, 6]):
                for down in ([0, 3], [2, 5], [4, 1], [6, 7]):
                    gn = [rng.randrange(n) for n in n_opts]
                    for b in range(1, 4):
                        base = 32 + 10 * b
                        gn[base:base + 3] = c012
                        gn[base + 7] = rng.randrange(2)
                        gn[base + 8:base + 10] = down
                    gn[32 + 7] = 1
                    genomes.append(gn)
            # Cells with every edge op 'none' (node2 = node0 + node1, node3 = node2), and every
            # projection disabled / enabled.
            gn = [rng.randrange(n) for n in n_opts]
            for k in range(3):
                gn[11 + 7 * k + 2:11 + 7 * k + 7] = [0] * 5
            gn[3], gn[7] = 0, 0
            genomes.append(gn)
        else:
            genomes.append([rng.randrange(3) if (g % 7) < 2 else 0 for g in range(21)])
        for idx, genome in enumerate(genomes):
            for g, o in enumerate(genome):
                covered.add((g, o))
            channels = 1 if idx % 2 == 0 else 3
            faithful = idx % 3 != 2
            cfg = Cfg(16, 16, 12, 4, channels, faithful)
            try:
                tr = Trainer(space, genome, cfg, d_batch=4, g_mult=2, n_critic=1,
                             seed=seed + idx, data_size=8)
                pg, pd = count(tr.G), count(tr.D)
                eg, ed = expected_counts(space, genome, cfg)
                if (pg, pd) != (eg, ed):
                    raise AssertionError("parameter counts G %d D %d, expected G %d D %d" %
                                         (pg, pd, eg, ed))
                tr.iteration(0)  # D step + G step + EMA
                tr.iteration(1)  # i % n_critic == 0 with n_critic 1 -> again both
                with torch.no_grad():
                    x = tr.G(torch.randn(3, cfg.latent_dim))
                    side = cfg.bottom_width * 8
                    if tuple(x.shape) != (3, channels, side, side):
                        raise AssertionError("G output shape %s" % (tuple(x.shape),))
                    y = tr.D(x)
                    if tuple(y.shape) != (3, 1):
                        raise AssertionError("D output shape %s" % (tuple(y.shape),))
                # SN buffers: one power iteration per training forward keeps u, v unit vectors.
                for name, buf in tr.D.named_buffers():
                    if name.endswith("weight_u") or name.endswith("weight_v"):
                        if abs(buf.norm().item() - 1.0) > 1e-4:
                            raise AssertionError("%s not normalised" % name)
                n_runs += 1
            except Exception as e:  # noqa: BLE001 - report every failing genome
                failures.append("%s genome %s: %s: %s" % (space, ",".join(map(str, genome)),
                                                          type(e).__name__, e))
        missing = [(genes[g][0], genes[g][1][o]) for g in range(len(genes))
                   for o in range(n_opts[g]) if (g, o) not in covered]
        if missing:
            failures.append("%s: options never built: %s" % (space, missing))
        print("self-check %s: %d genomes, %d/%d (gene, option) pairs built" %
              (space, len(genomes), len(covered), sum(n_opts)), file=sys.stderr)
    dt = time.perf_counter() - t0
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    ok = not failures
    print("self-check %s: %d runs in %.1f s" % ("passed" if ok else "FAILED", n_runs, dt),
          file=sys.stderr)
    print(json.dumps({"self_check": "passed" if ok else "failed", "runs": n_runs,
                      "failures": len(failures), "torch": torch.__version__}))
    return 0 if ok else 1


# ----------------------------------------------------------------------------- main
def parse_args(argv):
    ap = argparse.ArgumentParser(description="PyTorch mirror of the pbtnas GAN training step "
                                             "(benchmark).")
    ap.add_argument("--space", choices=["gan_easy", "gan_hard"], default="gan_hard")
    ap.add_argument("--genome", type=str, default=None,
                    help="comma-separated option indices in gene order (as the C++ Genome)")
    ap.add_argument("--gf-dim", type=int, default=32)
    ap.add_argument("--df-dim", type=int, default=32)
    ap.add_argument("--latent-dim", type=int, default=120)
    ap.add_argument("--bottom-width", type=int, default=4)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--faithful-d-block", type=int, choices=[0, 1], default=1)
    ap.add_argument("--d-batch", type=int, default=40)
    ap.add_argument("--g-batch-multiplier", type=int, default=2)
    ap.add_argument("--n-critic", type=int, default=5)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", type=str, default="cpu",
                    help="cpu, cuda or cuda:N (the networks; data and latents stay on the CPU, "
                         "as in GanTask)")
    ap.add_argument("--data-size", type=int, default=10000,
                    help="images in the random stand-in data set (index_select source)")
    ap.add_argument("--list-params", action="store_true",
                    help="print every parameter name and shape to stderr")
    ap.add_argument("--self-check", action="store_true",
                    help="build every option of every gene at gf 16 / df 16 / latent 12 and "
                         "run training iterations; exit 0 when all pass")
    args = ap.parse_args(argv)
    for name in ("d_batch", "g_batch_multiplier", "n_critic", "iters", "threads", "data_size"):
        if getattr(args, name) < 1:
            ap.error("--%s must be >= 1 (got %d)" % (name.replace("_", "-"), getattr(args, name)))
    if args.warmup < 0:
        ap.error("--warmup must be >= 0 (got %d)" % args.warmup)
    try:
        dev = torch.device(args.device)
    except RuntimeError:
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        ap.error("--device '%s' is not a device; use cpu, cuda or cuda:N" % args.device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            ap.error("--device %s: this PyTorch sees no CUDA device (a CPU-only build, or no GPU "
                     "here); use --device cpu" % args.device)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            ap.error("--device %s: only %d CUDA device(s) here" %
                     (args.device, torch.cuda.device_count()))
    if not args.self_check:
        if args.genome is None:
            ap.error("--genome is required (comma-separated option indices)")
        try:
            args.genome_list = [int(t) for t in args.genome.replace(" ", "").split(",") if t != ""]
        except ValueError:
            ap.error("--genome must be comma-separated integers, got '%s'" % args.genome)
        args.cfg = Cfg(args.gf_dim, args.df_dim, args.latent_dim, args.bottom_width,
                       args.channels, bool(args.faithful_d_block))
        try:
            args.cfg.validate()
            validate_genome(args.space, args.genome_list)
        except ValueError as e:
            ap.error(str(e))
    return args


def main(argv):
    args = parse_args(argv)
    if args.self_check:
        return self_check(args.seed, args.threads)
    torch.set_num_threads(args.threads)
    tr = Trainer(args.space, args.genome_list, args.cfg, args.d_batch, args.g_batch_multiplier,
                 args.n_critic, args.seed, args.data_size, device=args.device)

    def sync():  # wall-clock times include the device's queued work
        if tr.device.type == "cuda":
            torch.cuda.synchronize(tr.device)
    pg, pd = count(tr.G), count(tr.D)
    eg, ed = expected_counts(args.space, args.genome_list, args.cfg)
    if (pg, pd) != (eg, ed):
        print("warning: module counts G %d D %d differ from the analytic G %d D %d" %
              (pg, pd, eg, ed), file=sys.stderr)
    if args.list_params:
        for prefix, mod in (("generator", tr.G), ("discriminator", tr.D)):
            for n, p in mod.named_parameters():
                print("%s.%s %s %d" % (prefix, n, list(p.shape), p.numel()), file=sys.stderr)
    print("%s genome %s: G %d params, D %d params, threads %d" %
          (args.space, ",".join(map(str, args.genome_list)), pg, pd, torch.get_num_threads()),
          file=sys.stderr)
    for i in range(args.warmup):
        tr.iteration(i)
    sync()
    g_steps = 0
    c0 = time.process_time()
    t0 = time.perf_counter()
    for i in range(args.iters):
        if tr.iteration(i)[1] is not None:
            g_steps += 1
    sync()
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    out = {"ms_per_iter": 1000.0 * dt / args.iters, "iters": args.iters,
           "params_generator": pg, "params_discriminator": pd, "torch": torch.__version__,
           "threads": torch.get_num_threads(), "device": str(tr.device), "space": args.space, "d_batch": args.d_batch,
           "n_critic": args.n_critic, "g_steps": g_steps, "warmup": args.warmup,
           "cpu_ms_per_iter": 1000.0 * cpu / args.iters,
           # at::set_num_threads does not cap OpenBLAS's own pthreads (Linear, mv, transposed
           # conv); unset, OpenBLAS uses every core. Recorded so runs can be compared.
           "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS")}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
