#!/usr/bin/env python3
"""Makes fixtures/variants/ and fixtures/bad/ from the bundled fixtures.

Run once with numpy 2 when these files need to change; their output is
committed, so the project's tests never need Python:

    python3 -m venv /tmp/np && /tmp/np/bin/pip install numpy
    /tmp/np/bin/python scripts/make_fixtures.py

variants/: the book's weights as numpy 2 pickles them with protocols 2 to 5,
as float64, big-endian, all C order and all Fortran order, and with numpy
1.x's global names at protocol 5. Every one must give Accuracy:0.9352.

bad/: one broken file per failure the readers must report (see
fixtures/README.md for the list and the error each gives).
"""
import gzip
import io
import os
import pickle
import struct
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
VAR = os.path.join(ROOT, "variants")
BAD = os.path.join(ROOT, "bad")


def load_weights():
    with open(os.path.join(ROOT, "sample_weight.pkl"), "rb") as f:
        return pickle.load(f)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def gz(data):
    # mtime=0 keeps the output identical from run to run
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def idx(magic, dims, body):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + body


def variants(net):
    assert all(net[k].flags.f_contiguous and not net[k].flags.c_contiguous for k in ("W1", "W2", "W3"))
    for proto in (2, 3, 4, 5):
        write(os.path.join(VAR, f"weights-numpy2-protocol{proto}.pkl"), pickle.dumps(net, protocol=proto))
    f64 = {k: v.astype(np.float64, order="K") for k, v in net.items()}
    write(os.path.join(VAR, "weights-float64.pkl"), pickle.dumps(f64, protocol=4))
    big = {k: v.astype(">f4", order="K") for k, v in net.items()}
    write(os.path.join(VAR, "weights-big-endian.pkl"), pickle.dumps(big, protocol=3))
    c = {k: np.ascontiguousarray(v) for k, v in net.items()}
    write(os.path.join(VAR, "weights-c-order.pkl"), pickle.dumps(c, protocol=5))
    fo = {k: np.asfortranarray(v) for k, v in net.items()}
    write(os.path.join(VAR, "weights-fortran-order-protocol5.pkl"), pickle.dumps(fo, protocol=5))
    # numpy 1.x names its module numpy.core, numpy 2.x numpy._core: rewrite
    # the one SHORT_BINUNICODE (length byte 0x13 -> 0x12) and the first FRAME.
    p5 = pickle.dumps(fo, protocol=5)
    old, new = b"\x8c\x13numpy._core.numeric", b"\x8c\x12numpy.core.numeric"
    assert p5.count(old) == 1 and p5[2] == 0x95
    frame = struct.unpack("<Q", p5[3:11])[0]
    p5 = p5[:3] + struct.pack("<Q", frame - 1) + p5[11:]
    p5 = p5.replace(old, new)
    write(os.path.join(VAR, "weights-numpy1-names-protocol5.pkl"), p5)


def bad_idx():
    with gzip.open(os.path.join(ROOT, "t10k-labels-idx1-ubyte.gz"), "rb") as f:
        labels = f.read()
    with open(os.path.join(ROOT, "t10k-labels-idx1-ubyte.gz"), "rb") as f:
        labels_gz = f.read()
    one_image = bytes(range(0, 256, 1))[:784 - 528] + bytes(528)
    write(os.path.join(BAD, "bad-empty"), b"")
    write(os.path.join(BAD, "bad-truncated.gz"), labels_gz[: len(labels_gz) // 2])
    write(os.path.join(BAD, "bad-magic-images"), idx(0x03080000, [1, 28, 28], one_image))
    write(os.path.join(BAD, "bad-type-code-images"), idx(0x00000703, [1, 28, 28], one_image))
    write(os.path.join(BAD, "bad-four-billion-images"), idx(0x00000803, [4_000_000_000, 28, 28], one_image))
    write(os.path.join(BAD, "bad-zero-images"), idx(0x00000803, [0, 28, 28], b""))
    write(os.path.join(BAD, "bad-short-body-images"), idx(0x00000803, [2, 28, 28], one_image))
    write(os.path.join(BAD, "bad-trailing-bytes-labels"), idx(0x00000801, [3], bytes([7, 2, 1, 0])))
    write(os.path.join(BAD, "bad-short-header"), struct.pack(">I", 0x00000803) + b"\x00\x00")
    write(os.path.join(BAD, "bad-labels-as-images.gz"), gz(labels))
    write(os.path.join(BAD, "bad-images-as-labels"), idx(0x00000803, [1, 28, 28], one_image))
    write(os.path.join(BAD, "bad-9999-labels.gz"), gz(idx(0x00000801, [9999], labels[8 : 8 + 9999])))
    write(os.path.join(BAD, "bad-label-12"), idx(0x00000801, [10000], labels[8:13] + b"\x0c" + labels[14:]))


def bad_pickles(net):
    p = lambda name, data: write(os.path.join(BAD, name), data)
    # a pickle that would run a shell command in Python's pickle.load
    p("bad-os-system.pkl", b"\x80\x02cos\nsystem\nX\x0c\x00\x00\x00echo pwned!!\x85R.")
    # BINBYTES8 claiming 2^60 bytes
    p("bad-huge-length.pkl", b"\x80\x04\x8e" + struct.pack("<Q", 1 << 60) + b"abc")
    p("bad-deep-marks.pkl", b"\x80\x02" + b"(" * 100_000 + b".")
    p("bad-deep-lists.pkl", b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b".")
    p("bad-truncated.pkl", pickle.dumps(net, protocol=3)[:5000])
    p("bad-trailing-bytes.pkl", pickle.dumps(net, protocol=3) + b"\x00")
    p("bad-not-a-dict.pkl", pickle.dumps([net["W1"]], protocol=4))
    p("bad-int-dtype.pkl", pickle.dumps({**net, "b1": np.arange(50, dtype=np.int64)}, protocol=4))
    nan = {k: v.copy() for k, v in net.items()}
    nan["W2"][3, 17] = np.nan
    p("bad-nan-weight.pkl", pickle.dumps(nan, protocol=3))
    p("bad-missing-bias.pkl", pickle.dumps({k: v for k, v in net.items() if k != "b3"}, protocol=3))
    p("bad-no-chain.pkl", pickle.dumps({**net, "W2": net["W2"][:49]}, protocol=3))
    p("bad-nine-classes.pkl", pickle.dumps({**net, "W3": net["W3"][:, :9], "b3": net["b3"][:9]}, protocol=3))
    p("bad-bias-length.pkl", pickle.dumps({**net, "b2": net["b2"][:99]}, protocol=3))
    p("bad-input-size.pkl", pickle.dumps({**net, "W1": net["W1"][:700]}, protocol=3))
    p("bad-shape-vs-data.pkl", pickle.dumps(net, protocol=3).replace(b"K\x01K2\x85", b"K\x01K3\x85", 1))
    with open(os.path.join(BAD, "bad-text-too-few.txt"), "w") as f:
        f.write("W4 10x2\n0.1 0.5\n0.7\nb4 2\n0.3 0.4\n")


def main():
    os.makedirs(VAR, exist_ok=True)
    os.makedirs(os.path.join(BAD, "bad-directory"), exist_ok=True)
    write(os.path.join(BAD, "bad-directory", "README"), b"A folder given where a file is expected.\n")
    net = load_weights()
    variants(net)
    bad_idx()
    bad_pickles(net)
    print("numpy", np.__version__, "wrote", len(os.listdir(VAR)), "variants and", len(os.listdir(BAD)), "bad files")


if __name__ == "__main__":
    sys.exit(main())
