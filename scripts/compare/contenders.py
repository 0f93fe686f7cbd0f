"""The contenders `make compare` times against `infer sweep`, one pass of
the 10,000 test images per repetition, the data and the model ready before
the clock starts, one thread:

  numpy        the book's chapter 3 code: predict(network, x) on batches
               (sigmoid hidden layers, softmax out), then argmax
  onnxruntime  the same network as an ONNX graph (MatMul + Add + Sigmoid
               twice, MatMul + Add + Softmax), one session.run per batch,
               intra- and inter-op threads 1, then argmax
  onnxruntime-int8
               that graph quantized by ONNX Runtime's own
               quantize_dynamic (int8 weights, one scale per output
               channel; activations quantized per batch at run time)

usage: contenders.py numpy|onnxruntime|onnxruntime-int8 --batches 1,100 [--reps 3]
prints one line per batch size: BATCH IMAGES_PER_SECOND ACCURACY
"""
import argparse
import gzip
import os
import pickle
import sys
import time

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def load_test_set():
    with gzip.open(os.path.join(ROOT, "fixtures", "t10k-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(os.path.join(ROOT, "fixtures", "t10k-labels-idx1-ubyte.gz")) as f:
        t = np.frombuffer(f.read(), np.uint8, offset=8)
    # the book's load_mnist(normalize=True, flatten=True)
    return x.astype(np.float32) / 255.0, t


def load_network():
    with open(os.path.join(ROOT, "fixtures", "sample_weight.pkl"), "rb") as f:
        return pickle.load(f)


# the book's functions (ch03/neuralnet_mnist_batch.py and common/functions.py)
def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def predict(network, x):
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    a1 = np.dot(x, W1) + b1
    z1 = sigmoid(a1)
    a2 = np.dot(z1, W2) + b2
    z2 = sigmoid(a2)
    a3 = np.dot(z2, W3) + b3
    return softmax(a3)


def numpy_pass(network, x, t, batch):
    correct = 0
    for i in range(0, len(x), batch):
        y = predict(network, x[i : i + batch])
        correct += int(np.sum(np.argmax(y, axis=1) == t[i : i + batch]))
    return correct


def onnx_session(network, int8=False):
    import tempfile

    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    names = ["W1", "b1", "W2", "b2", "W3", "b3"]
    weights = [numpy_helper.from_array(np.ascontiguousarray(network[n], dtype=np.float32), n) for n in names]
    layer = lambda i, x, act: [  # noqa: E731
        helper.make_node("MatMul", [x, f"W{i}"], [f"m{i}"]),
        helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"]),
        helper.make_node(act, [f"a{i}"], [f"z{i}" if act == "Sigmoid" else "y"]),
    ]
    nodes = layer(1, "x", "Sigmoid") + layer(2, "z1", "Sigmoid") + layer(3, "z2", "Softmax")
    graph = helper.make_graph(
        nodes,
        "book",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 784])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with tempfile.TemporaryDirectory() as d:
            f32_path, int8_path = os.path.join(d, "f32.onnx"), os.path.join(d, "int8.onnx")
            onnx.save(model, f32_path)
            quantize_dynamic(f32_path, int8_path, per_channel=True, weight_type=QuantType.QInt8)
            model = onnx.load(int8_path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def onnx_pass(session, x, t, batch):
    correct = 0
    for i in range(0, len(x), batch):
        (y,) = session.run(None, {"x": x[i : i + batch]})
        correct += int(np.sum(np.argmax(y, axis=1) == t[i : i + batch]))
    return correct


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("contender", choices=["numpy", "onnxruntime", "onnxruntime-int8"])
    ap.add_argument("--batches", default="1,100")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    x, t = load_test_set()
    network = load_network()
    if a.contender == "numpy":
        run = lambda b: numpy_pass(network, x, t, b)  # noqa: E731
    else:
        session = onnx_session(network, int8=a.contender == "onnxruntime-int8")
        run = lambda b: onnx_pass(session, x, t, b)  # noqa: E731
    for batch in (int(b) for b in a.batches.split(",")):
        correct = run(batch)  # warm-up, and the accuracy check
        times = []
        for _ in range(a.reps):
            start = time.perf_counter()
            run(batch)
            times.append(time.perf_counter() - start)
        times.sort()
        print(batch, round(len(x) / times[len(times) // 2]), correct / len(x))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
