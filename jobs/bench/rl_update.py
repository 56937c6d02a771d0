#!/usr/bin/env python3
"""PyTorch mirror of the pbtnas RL networks and of one rl::update (benchmark for `pbtnas bench-rl`).

Rebuilds, layer for layer, the actor and twin critic of the C++ code (src/tasks/rl/rl_nets.cpp)
for one architecture given on the command line (the same op, activation and spectral-norm switch
on every searchable layer of the actor and both Q networks), and times the update of
src/tasks/rl/agent.cpp (DrQ-v2's DDPG core on state input):

  critic   with no grad: mu' = actor(next_obs); a' = clipped sample of mu'; y = r + d * min(Q1', Q2')
           from the target critic; loss = MSE(Q1, y) + MSE(Q2, y); loss.item(); zero_grad;
           backward; Adam step
  actor    mu = actor(obs); a = clipped sample of mu; loss = -min(Q1, Q2)(obs, a).mean();
           loss.item(); zero_grad; backward; Adam step
  target   target <- tau * critic + (1 - tau) * target over the parameters (mul_, add_)

Clipped sample: eps = N(0, 1) * sigma from a CPU generator, clamped to +-clip; x = mu + eps;
x - x.detach() + x.clamp(-1 + 1e-6, 1 - 1e-6).detach() (gradient straight through the clamp).
Networks (H = hidden, f = feature dim, A = action dim):
  trunk     Linear(obs -> f) -> LayerNorm(f) -> act
  layer 0   Linear(in -> H) -> act       (actor: in = f; Q: in = f + A, the action concatenated)
  layers 1-3  id | linear: act(Linear(H -> H)) | residual_m: x + Linear(m H -> H)(act(Linear(H -> m H)(LayerNorm(x))))
  heads     actor: tanh(Linear(H -> A)); Q1, Q2: Linear(H -> 1)
Spectral norm (when on): torch.nn.utils.parametrizations.spectral_norm on every layer-0..3 linear
(15 power iterations when built, one per training forward), as the released RL networks and the
C++ SNLinear with SpectralStyle::Parametrization do. The target critic is a deep
copy kept in training mode, as in the C++. Adam(lr, betas (0.9, 0.999), eps 1e-8), weight decay 0,
one optimizer for the actor and one for the critic. Initial values need not match the C++ (timing
only); parameter counts do.

Pixel input (--pixels C, the stacked channels): an encoder as src/tasks/rl/rl_nets.cpp builds it
(obs / 255 - 0.5; Conv(C -> 32, 3x3, stride 2, no padding) -> relu; three layers of --encoder-op:
conv_k: relu(Conv_k); residual_k: relu(x + Conv2_k(relu(Conv1_k(x)))); sep_conv_k:
relu(Conv2_1x1(Conv1_k depthwise(x))); flattened), a third Adam optimizer, and the update of
agent.cpp with pixels: random shift of obs and next_obs (replicate pad, integer offsets drawn from
the generator, bilinear grid_sample on pixel centres), obs encoded with gradient, next_obs without;
critic and encoder step on the critic loss; the actor on the detached encoding. --obs-dim is then
the encoder's output size. The batch pool holds uint8 frames.

The batch: a pool of 8 random batches (obs ~ N(0, 1), actions ~ U(-1, 1), rewards ~ U(0, nstep),
discount gamma^nstep), used in turn, as the C++ side does.

Usage:
  /usr/bin/python3 jobs/bench/rl_update.py --obs-dim 5 --action-dim 1 --hidden 256 --batch 256 \
      --feature-dim 50 --op linear --act relu --spectral 0 --iters 50 --reps 3 --warmup 50 --threads 1

stdout: one JSON line {"ms_per_update" (best block), "mean_ms_per_update", "params_actor",
"params_critic", "torch", "threads", ...}; everything else goes to stderr. Bad arguments: exit 2.
"""
import argparse
import copy
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTION_EPS = 1e-6
OPS = ["id", "linear", "residual_05", "residual_2"]
ACTS = ["id", "tanh", "relu", "swish"]


def activate(name, x):
    if name == "id":
        return x
    if name == "relu":
        return torch.relu(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "swish":
        return F.silu(x)
    raise ValueError("unknown activation %r" % name)


def switch_linear(n_in, n_out, spectral):
    lin = nn.Linear(n_in, n_out)
    return nn.utils.parametrizations.spectral_norm(lin) if spectral else lin


class Trunk(nn.Module):
    def __init__(self, n_in, features, act):
        super().__init__()
        self.fc = nn.Linear(n_in, features)
        self.ln = nn.LayerNorm(features)
        self.act = act

    def forward(self, x):
        return activate(self.act, self.ln(self.fc(x)))


class SearchLayer(nn.Module):
    def __init__(self, op, act, hidden, spectral):
        super().__init__()
        self.op, self.act = op, act
        if op == "linear":
            self.fc = switch_linear(hidden, hidden, spectral)
        elif op in ("residual_05", "residual_2"):
            inner = max(hidden // 2 if op == "residual_05" else hidden * 2, 1)
            self.ln = nn.LayerNorm(hidden)
            self.fc1 = switch_linear(hidden, inner, spectral)
            self.fc2 = switch_linear(inner, hidden, spectral)
        elif op != "id":
            raise ValueError("unknown linear op %r" % op)

    def forward(self, x):
        if self.op == "id":
            return x
        if self.op == "linear":
            return activate(self.act, self.fc(x))
        return x + self.fc2(activate(self.act, self.fc1(self.ln(x))))


class Mlp(nn.Module):
    def __init__(self, n_in, hidden, op, act, spectral):
        super().__init__()
        self.first = switch_linear(n_in, hidden, spectral)
        self.act = act
        self.layers = nn.ModuleList([SearchLayer(op, act, hidden, spectral) for _ in range(3)])

    def forward(self, x):
        x = activate(self.act, self.first(x))
        for layer in self.layers:
            x = layer(x)
        return x


class Actor(nn.Module):
    def __init__(self, obs_dim, action_dim, hidden, features, op, act, spectral):
        super().__init__()
        self.trunk = Trunk(obs_dim, features, act)
        self.policy = Mlp(features, hidden, op, act, spectral)
        self.head = nn.Linear(hidden, action_dim)

    def forward(self, obs):
        return torch.tanh(self.head(self.policy(self.trunk(obs))))


class Critic(nn.Module):
    def __init__(self, obs_dim, action_dim, hidden, features, op, act, spectral):
        super().__init__()
        self.trunk = Trunk(obs_dim, features, act)
        self.Q1 = Mlp(features + action_dim, hidden, op, act, spectral)
        self.Q1_head = nn.Linear(hidden, 1)
        self.Q2 = Mlp(features + action_dim, hidden, op, act, spectral)
        self.Q2_head = nn.Linear(hidden, 1)

    def forward(self, obs, action):
        h = torch.cat([self.trunk(obs), action], -1)
        return self.Q1_head(self.Q1(h)), self.Q2_head(self.Q2(h))


def clipped_sample(mu, sigma, clip, gen):
    eps = torch.empty(mu.shape, dtype=torch.float32).normal_(0.0, 1.0, generator=gen) * sigma
    if clip > 0:
        eps = eps.clamp(-clip, clip)
    x = mu + eps
    clamped = x.clamp(-1.0 + ACTION_EPS, 1.0 - ACTION_EPS)
    return x - x.detach() + clamped.detach()


ENC_OPS = ["id"] + ["%s_%d" % (k, n) for k in ("conv", "residual", "sep_conv") for n in (3, 5, 7)]


class ConvLayer(nn.Module):
    def __init__(self, op, c=32):
        super().__init__()
        self.op = op
        if op == "id":
            return
        kind, k = op.rsplit("_", 1)
        k = int(k)
        self.kind = kind
        if kind == "conv":
            self.conv = nn.Conv2d(c, c, k, 1, k // 2)
        elif kind == "residual":
            self.conv1 = nn.Conv2d(c, c, k, 1, k // 2)
            self.conv2 = nn.Conv2d(c, c, k, 1, k // 2)
        else:
            self.conv1 = nn.Conv2d(c, c, k, 1, k // 2, groups=c)
            self.conv2 = nn.Conv2d(c, c, 1, 1, 0)

    def forward(self, x):
        if self.op == "id":
            return x
        if self.kind == "conv":
            return F.relu(self.conv(x))
        if self.kind == "residual":
            return F.relu(x + self.conv2(F.relu(self.conv1(x))))
        return F.relu(self.conv2(self.conv1(x)))


class Encoder(nn.Module):
    def __init__(self, channels, op):
        super().__init__()
        self.first = nn.Conv2d(channels, 32, 3, 2, 0)
        self.layers = nn.Sequential(*[ConvLayer(op) for _ in range(3)])

    def forward(self, obs):
        x = obs.float() / 255.0 - 0.5
        return self.layers(F.relu(self.first(x))).flatten(1)


def shift(x, pad, gen):
    n, _, h, _ = x.shape
    if pad == 0:
        return x
    x = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    eps = 1.0 / (h + 2 * pad)
    ar = torch.linspace(-1.0 + eps, 1.0 - eps, h + 2 * pad)[:h]
    ar = ar.unsqueeze(0).repeat(h, 1).unsqueeze(2)
    base = torch.cat([ar, ar.transpose(1, 0)], dim=2).unsqueeze(0).repeat(n, 1, 1, 1)
    s = torch.randint(0, 2 * pad + 1, (n, 2), generator=gen).float().view(n, 1, 1, 2) * (2.0 / (h + 2 * pad))
    return F.grid_sample(x, base + s, padding_mode="zeros", align_corners=False)


class Agent:
    def __init__(self, a):
        self.a = a
        self.encoder = Encoder(a.pixels, a.encoder_op) if a.pixels else None
        self.actor = Actor(a.obs_dim, a.action_dim, a.hidden, a.feature_dim, a.op, a.act, a.spectral)
        self.critic = Critic(a.obs_dim, a.action_dim, a.hidden, a.feature_dim, a.op, a.act, a.spectral)
        self.target = copy.deepcopy(self.critic)
        self.actor.train()
        self.critic.train()
        self.target.train()  # as the C++ (spectral-norm power iterations in the target)
        adam = dict(lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), **adam)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), **adam)
        self.encoder_opt = torch.optim.Adam(self.encoder.parameters(), **adam) if self.encoder else None
        self.pairs = [(t, s) for t, s in zip(self.target.parameters(), self.critic.parameters())]
        self.gen = torch.Generator().manual_seed(a.seed)

    def update(self, batch):
        a = self.a
        obs, action, reward, discount, next_obs = batch
        if self.encoder is not None:
            obs = self.encoder(shift(obs.float(), a.shift_pad, self.gen))
            with torch.no_grad():
                next_obs = self.encoder(shift(next_obs.float(), a.shift_pad, self.gen))
        with torch.no_grad():
            mu = self.actor(next_obs)
            next_action = clipped_sample(mu, a.sigma, a.stddev_clip, self.gen)
            t1, t2 = self.target(next_obs, next_action)
            target_q = reward + discount * torch.min(t1, t2)
        q1, q2 = self.critic(obs, action)
        critic_loss = F.mse_loss(q1, target_q) + F.mse_loss(q2, target_q)
        if self.encoder_opt:
            self.encoder_opt.zero_grad()
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()
        if self.encoder_opt:
            self.encoder_opt.step()
        c = critic_loss.item()
        if self.encoder is not None:
            obs = obs.detach()

        mu = self.actor(obs)
        act = clipped_sample(mu, a.sigma, a.stddev_clip, self.gen)
        p1, p2 = self.critic(obs, act)
        actor_loss = -torch.min(p1, p2).mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()
        al = actor_loss.item()

        with torch.no_grad():
            for t, s in self.pairs:
                t.mul_(1.0 - a.tau).add_(s, alpha=a.tau)
        return c, al


def make_batches(a, n=8):
    g = torch.Generator().manual_seed(a.seed + 1)
    out = []
    for _ in range(n):
        if a.pixels:
            shape = (a.batch, a.pixels, a.image_size, a.image_size)
            obs = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
            next_obs = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
        else:
            obs = torch.randn(a.batch, a.obs_dim, generator=g)
            next_obs = torch.randn(a.batch, a.obs_dim, generator=g)
        action = torch.rand(a.batch, a.action_dim, generator=g) * 2 - 1
        reward = torch.rand(a.batch, 1, generator=g) * a.nstep
        discount = torch.full((a.batch, 1), a.discount ** a.nstep)
        out.append((obs, action, reward, discount, next_obs))
    return out


def count(module):
    return sum(p.numel() for p in module.parameters())


def parse_args(argv):
    ap = argparse.ArgumentParser(description="PyTorch mirror of the pbtnas RL agent update (benchmark).")
    ap.add_argument("--obs-dim", type=int, required=True)
    ap.add_argument("--action-dim", type=int, required=True)
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--feature-dim", type=int, default=50)
    ap.add_argument("--op", choices=OPS, default="linear")
    ap.add_argument("--act", choices=ACTS, default="relu")
    ap.add_argument("--spectral", type=int, choices=[0, 1], default=0)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--tau", type=float, default=0.01)
    ap.add_argument("--sigma", type=float, default=1.0)
    ap.add_argument("--stddev-clip", type=float, default=0.3)
    ap.add_argument("--nstep", type=int, default=3)
    ap.add_argument("--discount", type=float, default=0.99)
    ap.add_argument("--iters", type=int, default=50, help="updates per timed block")
    ap.add_argument("--reps", type=int, default=3, help="timed blocks (best is reported)")
    ap.add_argument("--warmup", type=int, default=50, help="untimed updates first")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pixels", type=int, default=0, help="stacked frame channels (0: state input)")
    ap.add_argument("--image-size", type=int, default=84)
    ap.add_argument("--encoder-op", choices=ENC_OPS, default="conv_3")
    ap.add_argument("--shift-pad", type=int, default=4)
    args = ap.parse_args(argv)
    for k in ("obs_dim", "action_dim", "hidden", "batch", "feature_dim", "iters", "reps", "threads"):
        if getattr(args, k) < 1:
            ap.error("--%s must be >= 1" % k.replace("_", "-"))
    if args.warmup < 0:
        ap.error("--warmup must be >= 0")
    return args


def main(argv):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    agent = Agent(a)
    batches = make_batches(a)
    pa, pc = count(agent.actor), count(agent.critic)
    print("rl_update: obs %d action %d hidden %d batch %d feature %d op %s act %s spectral %d: "
          "actor %d params, critic %d params, threads %d" %
          (a.obs_dim, a.action_dim, a.hidden, a.batch, a.feature_dim, a.op, a.act, a.spectral,
           pa, pc, torch.get_num_threads()), file=sys.stderr)
    k = 0
    for _ in range(a.warmup):
        agent.update(batches[k % len(batches)])
        k += 1
    blocks = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        for _ in range(a.iters):
            c, al = agent.update(batches[k % len(batches)])
            k += 1
        blocks.append(time.perf_counter() - t0)
    if not (c == c and al == al):
        print("non-finite losses during the benchmark", file=sys.stderr)
        return 1
    out = {"ms_per_update": 1000.0 * min(blocks) / a.iters,
           "mean_ms_per_update": 1000.0 * sum(blocks) / (a.iters * a.reps),
           "iters": a.iters, "reps": a.reps, "warmup": a.warmup,
           "params_actor": pa, "params_critic": pc, "torch": torch.__version__,
           "params_encoder": count(agent.encoder) if agent.encoder is not None else 0,
           "threads": torch.get_num_threads(),
           # at::set_num_threads does not cap OpenBLAS's own pthreads; recorded for comparison.
           "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS")}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
