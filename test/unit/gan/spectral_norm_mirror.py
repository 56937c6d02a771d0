"""Python mirror of pbtnas's spectral-norm layers, for test/unit/gan/spectral_norm_test.cpp.

Builds one layer with PyTorch's own spectral norm after torch.manual_seed(SEED), exactly as the
released PBT-NAS code does (the GAN discriminator: torch.nn.utils.spectral_norm, the "hook"
flavour; the RL networks: torch.nn.utils.parametrizations.spectral_norm), runs STEPS forward
passes in training mode and prints the weight, u, v and sigma as JSON.

Usage: /usr/bin/python3 spectral_norm_mirror.py STYLE KIND IN OUT KERNEL SEED STEPS
  STYLE: hook | parametrization    KIND: linear | conv (KERNEL is ignored for linear)
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
    else:
        layer = nn.utils.parametrizations.spectral_norm(layer)
        sn = layer.parametrizations.weight[0]
        u, v, w = sn._u, sn._v, layer.parametrizations.weight.original
    layer.train()
    x = torch.zeros(1, n_in) if kind == "linear" else torch.zeros(1, n_in, kernel, kernel)
    with torch.no_grad():
        for _ in range(steps):
            layer(x)
        sigma = torch.dot(u, torch.mv(w.reshape(w.shape[0], -1), v)).item()
    print(json.dumps({"weight": w.flatten().tolist(), "u": u.tolist(), "v": v.tolist(), "sigma": sigma}))


if __name__ == "__main__":
    main()
