"""Workload 2: the digits data (8x8 images, 1,347 training rows after a 25 % test split), 64-128-10,
ReLU hidden, softmax cross-entropy, SGD with momentum 0.9, 20 epochs, batch 32 and batch 256, in
float64 (every contender) and again in float32 (nnlib, NumPy, PyTorch: ``batch32_float32``, ...)."""
from __future__ import annotations

import numpy as np

from .common import environment, initial_params, worker_main
from .harness import compare


def run(smoke: bool, threads: int) -> dict:
    import nnlib
    X, labels = nnlib.datasets.digits()
    Y = nnlib.datasets.one_hot(labels, 10)
    Xtr, Xte, Ytr, Yte = nnlib.datasets.train_test_split(X, Y, test_size=0.25, seed=0)
    if smoke:
        Xtr, Ytr = Xtr[:256], Ytr[:256]
    out = {"environment": None, "runs": {}}
    for batch in (32, 256):
        spec = {"sizes": [64, 128, 10], "hidden": "relu", "output": "softmax",
                "loss": "cross_entropy", "lr": 0.05, "momentum": 0.9, "batch": batch,
                "epochs": 2 if smoke else 20}
        out["runs"][f"batch{batch}"] = compare(spec, Xtr, Ytr, initial_params(spec, seed=0),
                                               repeats=2 if smoke else 7, test=(Xte, Yte))
    for batch in (32, 256):
        spec = {**out["runs"][f"batch{batch}"]["spec"], "dtype": "float32"}
        f32 = np.float32
        out["runs"][f"batch{batch}_float32"] = compare(
            spec, Xtr.astype(f32), Ytr.astype(f32), initial_params(spec, seed=0),
            repeats=2 if smoke else 7, test=(Xte, Yte), names=("nnlib", "numpy", "torch"))
    out["environment"] = environment()
    return out


if __name__ == "__main__":
    worker_main(run, preload=("torch", "sklearn.neural_network"))
