"""Python mirror of pbtnas's spectral-norm layers, for test/unit/gan/spectral_norm_test.cpp.

Builds one layer with PyTorch's own spectral norm after torch.manual_seed(SEED), as the released
PBT-NAS code does:
  hook             the GAN discriminator: torch.nn.utils.spectral_norm;
  parametrization  an RL layer with the norm switched on: torch.nn.utils.parametrizations.
                   spectral_norm registered (15 iterations in its constructor, one more when the
                   registration checks the forward), then the weight read once, as the released
                   weight init does (one more: the parametrized weight is computed in training mode);
  off              an RL layer with the norm switched off: the constructor's 15 iterations only
                   (the released subclass returns the weight untouched in its forward).
Runs STEPS forward passes in training mode (not for `off`) and prints the weight, u, v and sigma
as JSON.

Usage: /usr/bin/python3 spectral_norm_mirror.py STYLE KIND IN OUT KERNEL SEED STEPS
  STYLE: hook | parametrization | off    KIND: linear | conv (KERNEL is ignored for linear)
Exit code 77 when PyTorch is not importable (the caller reports the test as skipped).
"""
import json
import sys

try:
    import torch
    import torch.nn as nn
except ImportError:
    sys.exit(77)


def main():
    style, kind = sys.argv[1], sys.argv[2]
    n_in, n_out, kernel, seed, steps = (int(a) for a in sys.argv[3:8])
    torch.manual_seed(seed)
    layer = nn.Linear(n_in, n_out) if kind == "linear" else nn.Conv2d(n_in, n_out, kernel)
    if style == "hook":
        layer = nn.utils.spectral_norm(layer)
        u, v, w = layer.weight_u, layer.weight_v, layer.weight_orig
    elif style == "parametrization":
        layer = nn.utils.parametrizations.spectral_norm(layer)
        layer.weight  # what the released weight init's `m.weight.data` does
        sn = layer.parametrizations.weight[0]
        u, v, w = sn._u, sn._v, layer.parametrizations.weight.original
    else:
        sn = nn.utils.parametrizations._SpectralNorm(layer.weight)
        u, v, w = sn._u, sn._v, layer.weight
        steps = 0
    layer.train()
    x = torch.zeros(1, n_in) if kind == "linear" else torch.zeros(1, n_in, kernel, kernel)
    with torch.no_grad():
        for _ in range(steps):
            layer(x)
        sigma = torch.dot(u, torch.mv(w.reshape(w.shape[0], -1), v)).item()
    print(json.dumps({"weight": w.flatten().tolist(), "u": u.tolist(), "v": v.tolist(), "sigma": sigma}))


if __name__ == "__main__":
    main()
