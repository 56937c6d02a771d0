#!/usr/bin/env python3
"""Read a pbtnas member file (member_NNN.h5, best_ever.h5, soup.h5) with h5py and numpy.

docs/checkpoint-format.md describes the layout. Needs only h5py and numpy:

    import sys; sys.path.insert(0, "jobs/tools")
    import pbtnas_h5
    state = pbtnas_h5.read_state("OUT/checkpoints/gen_000003/member_007.h5")
    weights = {n[len("model."):]: a for n, a in state.items() if n.startswith("model.")}

`read_state` returns {dotted tensor name: numpy array} in the file's state order, for both
member-file formats: version 2 (small tensors packed per dtype, large ones stored on their own)
and version 1 (one dataset per tensor). bfloat16 tensors come back as their raw uint16 bits;
`bfloat16_to_float32` widens them. Run as a script, `python3 pbtnas_h5.py FILE` lists the
tensors (name, dtype, shape).
"""
import sys

import h5py
import numpy as np


def bfloat16_to_float32(a):
    """The float32 values of bfloat16 tensors stored as raw uint16 bits."""
    return (np.asarray(a, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def _read(f, prefix=None):
    names = list(f["tensor_names"].asstr()[()])
    version = int(f.attrs["format_version"])
    if version not in (1, 2):
        raise ValueError(f"{f.filename} has format_version {version}; this reader knows 1 and 2")
    wanted = [i for i, n in enumerate(names) if prefix is None or n.startswith(prefix)]
    if version == 1:
        return {names[i]: f["state/" + names[i].replace(".", "/")][()] for i in wanted}
    s = f["state"]
    dtypes = list(s["dtypes"].asstr()[()])
    ranks = s["ranks"][()]
    shapes = s["shapes"][()]
    offsets = s["offsets"][()]
    starts = np.concatenate([[0], np.cumsum(ranks)]).astype(np.int64)
    packed = {}
    out = {}
    for i in wanted:
        shape = tuple(int(d) for d in shapes[starts[i]:starts[i + 1]])
        if offsets[i] < 0:
            out[names[i]] = s["tensors/" + names[i]][()]
            continue
        if dtypes[i] not in packed:
            packed[dtypes[i]] = s["packed/" + dtypes[i]][()]
        n = int(np.prod(shape, dtype=np.int64))
        out[names[i]] = packed[dtypes[i]][offsets[i]:offsets[i] + n].reshape(shape).copy()
    return out


def read_state(path, prefix=None):
    """{name: numpy array} of the member file's tensors (only those starting with `prefix`)."""
    if isinstance(path, h5py.File):
        return _read(path, prefix)
    with h5py.File(path, "r") as f:
        return _read(f, prefix)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: pbtnas_h5.py MEMBER_FILE.h5")
    with h5py.File(sys.argv[1], "r") as f:
        dtypes = None
        if int(f.attrs["format_version"]) >= 2:
            dtypes = list(f["state/dtypes"].asstr()[()])
        for i, (name, a) in enumerate(_read(f).items()):
            print(f"{name:40s} {dtypes[i] if dtypes else str(a.dtype):9s} {'x'.join(map(str, a.shape)) or 'scalar'}")
