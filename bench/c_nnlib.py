"""Contender: nnlib, through its public API (``MLP.fit``), as a learner would call it."""
from __future__ import annotations

import numpy as np

import nnlib


class Contender:
    name = "nnlib"

    def __init__(self, spec: dict, X: np.ndarray, Y: np.ndarray, perms: np.ndarray,
                 params0: np.ndarray, shuffle_seed: int) -> None:
        self.spec, self.X, self.Y, self.params0 = spec, X, Y, params0
        self.seed = shuffle_seed  # fit draws the same order as bench.common.shuffle_order
        self.net = nnlib.MLP(spec["sizes"], hidden=spec["hidden"], output=spec["output"], seed=0,
                             dtype=spec.get("dtype", "float64"))
        # inputs in the network's dtype, as a learner training in float32 would hold them
        self.X, self.Y = X.astype(self.net.dtype), Y.astype(self.net.dtype)
        self.losses: list[float] = []

    def prepare(self) -> None:
        """Back to the initial weights (untimed)."""
        self.net.params[...] = self.params0

    def run(self, epochs: int | None = None) -> None:
        """Train for ``epochs`` (default: the spec's) epochs from the state ``prepare`` set."""
        s = self.spec
        h = self.net.fit(self.X, self.Y, loss=s["loss"], lr=s["lr"], momentum=s["momentum"],
                         epochs=epochs or s["epochs"], batch_size=s["batch"], seed=self.seed)
        self.losses = h.loss

    def params(self) -> np.ndarray:
        return self.net.params.astype(np.float64)
