#!/usr/bin/python3
"""Random architectures through `pbtnas export` (part of export_run.sh).

The smoke runs reach only some options. Here, for each exported run, member files with random
genomes (every option of every network gene can occur) and random weights are written with
h5py in member-file format 1, one dataset per tensor (member files without a checksum header are read as they are; docs/checkpoint-format.md),
their tensor names taken from the Python rebuild's state_dict. pbtnas loads them strictly, so a
name or shape that differs between pbtnas_models.py and pbtnas fails the export. Then the export
is rebuilt in Python and compared with example.pt, and for the GAN the exported generator is
checked to hold the EMA parameters (average.generator.*) and the live BatchNorm statistics
(model.generator.*). GAN discriminator tensors and genes are kept from the real member file.

usage: random_genomes.py PBTNAS WORK COUNT SPEC...  (COUNT >= 8 covers every option)   SPEC = EXPORT_DIR:MEMBER_FILE:CONFIG
Exit code 77 (skipped) when h5py or numpy is missing; export_run.sh checks for them first.
"""
import json
import os
import random
import subprocess
import sys

import torch

try:
    import h5py
    import numpy as np
except ImportError:
    print("SKIPPED: h5py or numpy is not installed (install python3-h5py python3-numpy)")
    sys.exit(77)

import pbtnas_h5
import pbtnas_models as pm

OPTIONS = {  # gene name suffix -> option names, in pbtnas's order
    "op": pm.CELL_OPS, "norm": pm.CELL_NORMS, "act": pm.CELL_ACTS,
    "up0": pm.UP_OPS, "up1": pm.UP_OPS,
    "c0": pm.EDGE_OPS, "c1": pm.EDGE_OPS, "c2": pm.EDGE_OPS, "c3": pm.EDGE_OPS, "c4": pm.EDGE_OPS,
    "linear": pm.PROJECTION_LINEAR, "up_mode": pm.UP_MODES, "dropout": ["0.0", "0.1", "0.2"],
    "if_enabled": ["False", "True"],
}


def network_gene(space, name):
    """Genes of the exported network (classifier, generator); GAN D genes are kept."""
    return space == "classify_cnn" or name.startswith(("proj", "cell"))


def random_state(net, gen, scale):
    out = {}
    for name, t in net.state_dict().items():
        if t.dtype == torch.int64:
            out[name] = torch.randint(0, 1000, t.shape, generator=gen, dtype=torch.int64)
        elif name.endswith("running_var"):
            out[name] = 0.5 + torch.rand(t.shape, generator=gen)
        else:
            out[name] = scale * torch.randn(t.shape, generator=gen)
    return out


def write_member(path, genome, options, state):
    """A member file in pbtnas's layout (no checksum header)."""
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "pbtnas-member"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["member_id"] = np.int64(0)
        f.attrs["generation"] = np.int64(0)
        f.attrs["train_seed"] = np.uint64(1)
        f.create_dataset("genome", data=np.array(genome, dtype=np.int32))
        f.create_dataset("genome_options", data=options, dtype=h5py.string_dtype())
        f.create_dataset("fitness", data=np.array([0.5], dtype=np.float64))
        f.create_dataset("tensor_names", data=list(state), dtype=h5py.string_dtype())
        for name, t in state.items():
            a = t.numpy()
            d = f.create_dataset("state/" + name.replace(".", "/"), data=a)
            d.attrs["name"] = name
            d.attrs["dtype"] = str(t.dtype).replace("torch.", "")
            d.attrs.create("shape", np.array(a.shape, dtype=np.int64))


def read_prefixed(path, prefix):
    return {n: torch.from_numpy(np.asarray(a)) for n, a in pbtnas_h5.read_state(path, prefix).items()}


def main(argv):
    pbtnas, work, count = argv[1], argv[2], int(argv[3])
    seen = {}
    worst = 0.0
    for spec in argv[4:]:
        export_dir, member_file, config = spec.split(":")
        arch = json.load(open(os.path.join(export_dir, "architecture.json")))
        space = arch["space"]
        kept_d = read_prefixed(member_file, "model.discriminator.") if space != "classify_cnn" else {}
        rnd = random.Random(space)
        offsets = [rnd.randrange(1000) for _ in arch["genes"]]
        for i in range(count):
            gen = torch.Generator().manual_seed(1000 + i)
            genes = []
            for j, g in enumerate(arch["genes"]):
                name = g["name"]
                if network_gene(space, name):
                    # Genome i takes option (i + offset) of each gene, offsets random per gene:
                    # with COUNT >= 8 every option of every gene occurs.
                    choices = OPTIONS[name.split(".", 1)[1]]
                    option = (i + offsets[j]) % len(choices)
                    genes.append(dict(name=name, option=option, option_name=choices[option]))
                    seen.setdefault((space, name.split(".", 1)[1]), set()).add(choices[option])
                else:
                    genes.append(dict(g))
            rand_arch = dict(arch, genes=genes, genome=[g["option"] for g in genes])
            net = pm.build(rand_arch)
            if space == "classify_cnn":
                state = {"model." + k: v for k, v in random_state(net, gen, 0.3).items()}
                ema = None
            else:
                live = random_state(net, gen, 0.2)
                ema = random_state(net, gen, 0.2)
                state = {"model.generator." + k: v for k, v in live.items()}
                state.update(kept_d)
                state.update({"average.generator." + k: v for k, v in ema.items()})
            path = os.path.join(work, f"random_{space}_{i}.h5")
            write_member(path, rand_arch["genome"], [g["option_name"] for g in genes], state)
            out = os.path.join(work, f"random_{space}_{i}")
            r = subprocess.run([pbtnas, "export", path, "--out", out, "--config", config],
                               capture_output=True, text=True)
            assert r.returncode == 0, f"export of a random {space} genome failed:\n{r.stdout}{r.stderr}"
            ok, diff = pm.check(out)
            worst = max(worst, diff)
            assert ok, f"{out}: rebuilt network differs from pbtnas (max abs diff {diff})"
            exported = torch.load(os.path.join(out, "model.pt"))
            if ema is not None:  # EMA parameters, live BatchNorm statistics
                params = {n for n, _ in net.named_parameters()}
                for k, v in exported.items():
                    want = ema[k] if k in params else live[k]
                    assert torch.equal(v, want), f"{out}: {k} is not the {'EMA' if k in params else 'live'} tensor"
    missing = [(k, sorted(set(OPTIONS[k[1]]) - v)) for k, v in sorted(seen.items()) if set(OPTIONS[k[1]]) - v]
    print(f"random genomes: {count} per space, max abs diff {worst:.3g}; options never drawn: {missing or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
