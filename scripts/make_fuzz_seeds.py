#!/usr/bin/env python3
"""Makes the small seed inputs of the fuzz targets in crates/mnist-data/fuzz/seeds/.

Run with numpy 2 when the seeds need to change; the output is committed:

    python3 -m venv /tmp/np && /tmp/np/bin/pip install numpy
    /tmp/np/bin/python scripts/make_fuzz_seeds.py

The fuzzers also read every file under fixtures/ (the real files, the
variants and the bad corpus); these seeds add files small enough to mutate
quickly: a few images and labels in every IDX type, raw, gzip and two-member
gzip, and a 4-3-2 network pickled with every protocol and layout the reader
supports, alone and merged with a text file.
"""
import gzip
import os
import pickle
import struct

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SEEDS = os.path.join(ROOT, "crates", "mnist-data", "fuzz", "seeds")
SEPARATOR = b"\n%%%%\n"  # mnist_data::fuzz::FILE_SEPARATOR


def write(target, name, data):
    os.makedirs(os.path.join(SEEDS, target), exist_ok=True)
    with open(os.path.join(SEEDS, target, name), "wb") as f:
        f.write(data)


def idx(code, dims, body):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + body


def idx_seeds():
    with gzip.open(os.path.join(ROOT, "fixtures", "t10k-images-idx3-ubyte.gz")) as f:
        images = f.read()[16 : 16 + 3 * 784]
    with gzip.open(os.path.join(ROOT, "fixtures", "t10k-labels-idx1-ubyte.gz")) as f:
        labels = f.read()[8 : 8 + 3]
    files = {
        "images-3": idx(0x08, [3, 28, 28], images),
        "images-1x4x4": idx(0x08, [1, 4, 4], bytes(range(16))),
        "labels-3": idx(0x08, [3], labels),
        "i8-2x2": idx(0x09, [2, 2], b"\x01\xff\x7f\x80"),
        "i16-3": idx(0x0B, [3], struct.pack(">3h", 1, -2, 300)),
        "i32-2": idx(0x0C, [2], struct.pack(">2i", -7, 1 << 20)),
        "f32-2x2": idx(0x0D, [2, 2], struct.pack(">4f", 0.5, -1, 3.25, 1e-3)),
        "f64-2": idx(0x0E, [2], struct.pack(">2d", 0.1, -2)),
        "scalar": idx(0x08, [], b"\x07"),
    }
    for name, data in files.items():
        write("idx", name, data)
        write("idx", name + ".gz", gzip.compress(data, mtime=0))
    head = files["images-3"][:16]
    write("idx", "images-3-two-members.gz", gzip.compress(head, mtime=0) + gzip.compress(images, mtime=0))


def tiny_network(dtype=np.float32):
    rng = np.random.default_rng(3)
    return {
        "W1": rng.standard_normal((4, 3)).astype(dtype),
        "b1": rng.standard_normal(3).astype(dtype),
        "W2": rng.standard_normal((3, 2)).astype(dtype),
        "b2": rng.standard_normal(2).astype(dtype),
    }


def weights_seeds():
    pickles = {}
    for protocol in (2, 3, 4, 5):
        pickles[f"tiny-protocol{protocol}.pkl"] = pickle.dumps(tiny_network(), protocol=protocol)
    pickles["tiny-float64.pkl"] = pickle.dumps(tiny_network(np.float64), protocol=4)
    pickles["tiny-big-endian.pkl"] = pickle.dumps(
        {k: v.astype(v.dtype.newbyteorder(">")) for k, v in tiny_network().items()}, protocol=3
    )
    for protocol in (3, 5):
        pickles[f"tiny-fortran-protocol{protocol}.pkl"] = pickle.dumps(
            {k: np.asfortranarray(v) for k, v in tiny_network().items()}, protocol=protocol
        )
    text = b"# b2 replaced, W3 and b3 added\nb2 2\n0.5 -0.5\nW3 2x2\n1 0\n0 1\nb3 2\n0 0\n"
    for name, data in pickles.items():
        write("weights", name, data)
        write("network", name, bytes([4, 2]) + data)
    write("weights", "tiny.txt", text)
    write("network", "tiny-protocol4-then-text", bytes([4, 2]) + pickles["tiny-protocol4.pkl"] + SEPARATOR + text)
    write("network", "text-only", bytes([2, 1]) + b"W1 2x1\n1 2\nb1 1\n0\n")


if __name__ == "__main__":
    idx_seeds()
    weights_seeds()
