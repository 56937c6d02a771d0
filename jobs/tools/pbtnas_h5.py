#!/usr/bin/env python3
"""Read a pbtnas member (best_ever.h5, soup.h5, a member of a generation) with h5py and numpy.

docs/checkpoint-format.md describes the layout. Needs only h5py and numpy:

    import sys; sys.path.insert(0, "jobs/tools")
    import pbtnas_h5
    state = pbtnas_h5.read_state("OUT/checkpoints/gen_000003/member_007.h5")
    weights = {n[len("model."):]: a for n, a in state.items() if n.startswith("model.")}

`read_fields` returns a member's genome, option names, fitness history, training seed and
generation. `read_state` returns {dotted tensor name: numpy array} in the file's state order, for both
member-file formats: version 2 (small tensors packed per dtype, large ones stored on their own)
and version 1 (one dataset per tensor). A member of a generation is named by its member-file
path OUT/checkpoints/gen_NNNNNN/member_NNN.h5 for every index format: since index format 3 the
generation has no such file, and `locate` finds the member in its worker's shard (shard_NNN.h5)
through the generation's index.h5; a shard of format 2 holds its members as columns
(docs/checkpoint-format.md, "Shard file"), one of format 1 a group per member. bfloat16 tensors
come back as their raw uint16 bits; `bfloat16_to_float32` widens them. Run as a script, `python3 pbtnas_h5.py FILE` lists the
tensors (name, dtype, shape).
"""
import os
import sys

import h5py
import numpy as np


def bfloat16_to_float32(a):
    """The float32 values of bfloat16 tensors stored as raw uint16 bits."""
    return (np.asarray(a, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def locate(path):
    """(file, group) holding the member that `path` (OUT/checkpoints/gen_N/member_M.h5) names:
    the file itself when it exists, else the place its generation's index.h5 gives it."""
    if os.path.exists(path):
        return path, "/"
    folder, name = os.path.split(path)
    member = int(name[len("member_"):-len(".h5")])
    with h5py.File(os.path.join(folder, "index.h5"), "r") as f:
        ids = list(f["member_ids"][()])
        row = ids.index(member)
        files = f["files/file"].asstr()[()]
        if int(f.attrs["format_version"]) < 3:
            return os.path.join(folder, files[list(f["files/member"][()]).index(member)]), "/"
        file = files[f["members/file"][row]]
        group = f["members/group"].asstr()[()][row]
    return os.path.join(folder, file), group or "/"


def _unpack(s, names, dtypes, ranks, shapes, offsets, wanted, own_name):
    """{names[i]: array} for the rows `wanted` of a state table (group `s`)."""
    starts = np.concatenate([[0], np.cumsum(ranks)]).astype(np.int64)
    packed = {}
    out = {}
    for i in wanted:
        shape = tuple(int(d) for d in shapes[starts[i]:starts[i + 1]])
        if offsets[i] < 0:
            out[names[i]] = s["tensors/" + own_name(i)][()]
            continue
        if dtypes[i] not in packed:
            packed[dtypes[i]] = s["packed/" + dtypes[i]][()]
        n = int(np.prod(shape, dtype=np.int64))
        out[names[i]] = packed[dtypes[i]][offsets[i]:offsets[i] + n].reshape(shape).copy()
    return out


def _table(s):
    return (list(s["dtypes"].asstr()[()]), s["ranks"][()], s["shapes"][()], s["offsets"][()])


def _column_row(f, group):
    """The row of member `group` (member_NNN) in a shard of format 2 (columns), else None."""
    if group == "/" or group in f or "member_ids" not in f:
        return None
    return list(f["member_ids"][()]).index(int(group.strip("/")[len("member_"):]))


def _read_columns(f, group, row, prefix=None):
    """A member of a shard of format 2: its rows of the shard's state table."""
    starts = f["tensor_starts"][()]
    names = list(f["tensor_names"].asstr()[()])
    wanted = [i for i in range(int(starts[row]), int(starts[row + 1])) if prefix is None or names[i].startswith(prefix)]
    own = group.strip("/") + "."  # its large tensors: state/tensors/member_NNN.<name>
    return _unpack(f["state"], names, *_table(f["state"]), wanted, lambda i: own + names[i])


def _read(f, prefix=None):
    if "member_ids" in f:  # a whole shard of format 2 was passed
        raise ValueError(f"{f.filename} is a shard holding several members; pass one member's path")
    names = list(f["tensor_names"].asstr()[()])
    # a shard's member group has the member-file layout of version 2; the file says its version
    version = int(f.attrs["format_version"]) if "format_version" in f.attrs else 2
    if version not in (1, 2):
        raise ValueError(f"{f.filename} has format_version {version}; this reader knows 1 and 2")
    wanted = [i for i, n in enumerate(names) if prefix is None or n.startswith(prefix)]
    if version == 1:
        return {names[i]: f["state/" + names[i].replace(".", "/")][()] for i in wanted}
    return _unpack(f["state"], names, *_table(f["state"]), wanted, lambda i: names[i])


def _read_at(f, group, prefix=None):
    row = _column_row(f, group)
    return _read(f[group], prefix) if row is None else _read_columns(f, group, row, prefix)


def read_fields(path):
    """{"genome", "genome_options", "fitness", "train_seed", "generation"} of a member (numpy arrays,
    lists of str and ints), from a member file or either version of shard."""
    file, group = locate(path)
    with h5py.File(file, "r") as f:
        r = _column_row(f, group)
        if r is not None:  # shard version 2: the member's row of each column
            g0, g1 = f["genome_starts"][r], f["genome_starts"][r + 1]
            o0, o1 = f["genome_options_starts"][r], f["genome_options_starts"][r + 1]
            f0, f1 = f["fitness_starts"][r], f["fitness_starts"][r + 1]
            return {"genome": f["genome"][g0:g1], "genome_options": list(f["genome_options"].asstr()[o0:o1]),
                    "fitness": f["fitness"][f0:f1], "train_seed": int(f["train_seeds"][r]),
                    "generation": int(f["generations"][r])}
        m = f[group]
        return {"genome": m["genome"][()], "genome_options": list(m["genome_options"].asstr()[()]),
                "fitness": m["fitness"][()], "train_seed": int(m.attrs["train_seed"]),
                "generation": int(m.attrs["generation"])}


def read_state(path, prefix=None):
    """{name: numpy array} of the member's tensors (only those starting with `prefix`)."""
    if isinstance(path, (h5py.File, h5py.Group)):
        return _read(path, prefix)
    file, group = locate(path)
    with h5py.File(file, "r") as f:
        return _read_at(f, group, prefix)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: pbtnas_h5.py MEMBER_FILE.h5")
    file, group = locate(sys.argv[1])
    with h5py.File(file, "r") as f:
        for name, a in _read_at(f, group).items():
            kind = "bfloat16" if a.dtype == np.uint16 else str(a.dtype)  # bfloat16 is kept as its uint16 bits
            print(f"{name:40s} {kind:9s} {'x'.join(map(str, a.shape)) or 'scalar'}")
