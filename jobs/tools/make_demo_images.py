#!/usr/bin/python3
"""Writes a small synthetic RGB image data set in the formats `task: classify` reads, to try a
search on "your own data" without downloading anything (docs/tasks.md, "Data formats").

    /usr/bin/python3 jobs/tools/make_demo_images.py OUT [--size 16] [--classes 4]
        [--train 60] [--test 20] [--seed 1]

writes
    OUT/folder/train/CLASS/NNNN.png, OUT/folder/test/CLASS/NNNN.png   (format: folder)
    OUT/train.h5, OUT/test.h5   datasets images (N x H x W x 3 uint8), labels (N int64)
                                (format: hdf5; needs h5py, python3-h5py)
    OUT/train.npz, OUT/test.npz arrays images, labels (format: numpy)

Class k is a coloured blob (hue k / classes) at a random place on a noisy background. PNG files
are written with zlib only (no imaging library needed); numpy is required.
"""
import argparse
import colorsys
import os
import struct
import zlib

import numpy as np


def png_bytes(img):
    """8-bit RGB PNG of an H x W x 3 uint8 array (rows unfiltered)."""
    h, w, _ = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def make(n, size, classes, rng):
    images = np.empty((n, size, size, 3), np.uint8)
    labels = np.arange(n, dtype=np.int64) % classes
    yy, xx = np.mgrid[0:size, 0:size]
    for i, k in enumerate(labels):
        colour = np.array(colorsys.hsv_to_rgb(k / classes, 0.9, 0.9)) * 255
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 5) ** 2))[..., None]
        background = rng.uniform(40, 90, (size, size, 3))
        images[i] = np.clip(background * (1 - blob) + colour * blob + rng.normal(0, 12, (size, size, 3)), 0, 255)
    return images, labels


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=16)
    ap.add_argument("--classes", type=int, default=4)
    ap.add_argument("--train", type=int, default=60, help="training images per class")
    ap.add_argument("--test", type=int, default=20, help="test images per class")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    names = [f"class_{k}" for k in range(a.classes)]
    for part, per_class in (("train", a.train), ("test", a.test)):
        images, labels = make(per_class * a.classes, a.size, a.classes, rng)
        for i, (img, k) in enumerate(zip(images, labels)):
            d = os.path.join(a.out, "folder", part, names[k])
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"{i:05d}.png"), "wb") as f:
                f.write(png_bytes(img))
        np.savez(os.path.join(a.out, f"{part}.npz"), images=images, labels=labels)
        try:
            import h5py
        except ImportError:
            print("h5py is missing (apt install python3-h5py): no HDF5 files written")
            continue
        # The few lines of h5py that write a data set `format: hdf5` reads:
        with h5py.File(os.path.join(a.out, f"{part}.h5"), "w") as f:
            f.create_dataset("images", data=images)  # N x H x W x C uint8 (or N x H x W, N x C x H x W)
            f.create_dataset("labels", data=labels)  # N integers 0 .. classes-1
    print(f"wrote {a.classes} classes of {a.size}x{a.size} RGB images under {a.out}")


if __name__ == "__main__":
    main()
