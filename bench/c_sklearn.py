"""Contender: scikit-learn's ``MLPClassifier`` (solver="sgd", momentum without Nesterov, alpha=0,
constant step), for the softmax cross-entropy workloads.

It is steered to the same initial weights and batch order: one ``partial_fit`` call per epoch on the
rows in that epoch's order with ``shuffle=False``. Its momentum form v = mu v - lr g; p += v is
PyTorch's v = mu v + g; p -= lr v scaled by -lr, identical for a constant step. Setting the weights
and velocities uses two private attributes (``_optimizer.velocities``), so this may need adjusting
for other scikit-learn versions.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.neural_network import MLPClassifier

from .common import unflatten


class Contender:
    name = "sklearn"

    def __init__(self, spec: dict, X: np.ndarray, Y: np.ndarray, perms: np.ndarray,
                 params0: np.ndarray, shuffle_seed: int) -> None:
        assert spec["loss"] == "cross_entropy" and spec["hidden"] in ("relu", "tanh")
        self.spec, self.X, self.perms, self.params0 = spec, X, perms, params0
        self.labels = Y.argmax(axis=1)
        self.classes = np.arange(Y.shape[1])
        self.losses: list[float] = []

    def _fresh(self) -> MLPClassifier:
        s = self.spec
        clf = MLPClassifier(hidden_layer_sizes=tuple(s["sizes"][1:-1]), activation=s["hidden"],
                            solver="sgd", alpha=0.0, batch_size=s["batch"],
                            learning_rate="constant", learning_rate_init=s["lr"],
                            momentum=s["momentum"], nesterovs_momentum=False, shuffle=False,
                            tol=0.0, n_iter_no_change=10**9, random_state=0)
        # One step on one row creates the arrays and the optimiser; then set weights, zero velocity.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(self.X[:1], self.labels[:1], classes=self.classes)
        for l, (W, b) in enumerate(unflatten(self.params0, s["sizes"])):
            clf.coefs_[l][...] = W
            clf.intercepts_[l][...] = b
        clf._optimizer.velocities = [np.zeros_like(p) for p in clf.coefs_ + clf.intercepts_]
        return clf

    def prepare(self) -> None:
        self.clf = self._fresh()

    def run(self, epochs: int | None = None) -> None:
        clf = self.clf
        self.losses = []
        for e in range(epochs or self.spec["epochs"]):
            idx = self.perms[e]
            clf.partial_fit(self.X[idx], self.labels[idx])
            self.losses.append(float(clf.loss_))

    def params(self) -> np.ndarray:
        return np.concatenate([p.ravel() for W, b in zip(self.clf.coefs_, self.clf.intercepts_)
                               for p in (W, b)])
