"""Contender: an independent plain-NumPy implementation of the same algorithm.

Written as a careful NumPy programmer would: parameters, gradients and velocities in three flat
buffers (so each optimiser step is three whole-array operations), matrix products written into
preallocated views with ``np.dot(..., out=)``, in-place elementwise operations. It shares no code
with nnlib. ``spec["dtype"]`` ("float64" by default, or "float32") is the dtype of every array.
"""
from __future__ import annotations

import numpy as np

from .common import unflatten


def _activate(name: str, Z: np.ndarray) -> np.ndarray:
    """A = f(Z), in place on Z."""
    if name == "tanh":
        return np.tanh(Z, out=Z)
    if name == "sigmoid":  # sigma(z) = (1 + tanh(z/2)) / 2: stable, one transcendental call
        Z *= 0.5
        np.tanh(Z, out=Z)
        Z += 1.0
        Z *= 0.5
        return Z
    if name == "relu":
        return np.maximum(Z, 0.0, out=Z)
    return Z


def _times_derivative(name: str, D: np.ndarray, A: np.ndarray) -> None:
    """D *= f'(Z), written through the activation A = f(Z)."""
    if name == "tanh":
        D *= 1.0 - A * A
    elif name == "sigmoid":
        D *= A * (1.0 - A)
    elif name == "relu":
        D *= A > 0.0


class Contender:
    name = "numpy"

    def __init__(self, spec: dict, X: np.ndarray, Y: np.ndarray, perms: np.ndarray,
                 params0: np.ndarray, shuffle_seed: int) -> None:
        dtype = np.dtype(spec.get("dtype", "float64"))
        self.spec, self.perms, self.params0 = spec, perms, params0
        self.X, self.Y = X.astype(dtype), Y.astype(dtype)
        self.flat = params0.astype(dtype)
        self.grad = np.zeros_like(self.flat)
        self.vel = np.zeros_like(self.flat)
        self.layers = unflatten(self.flat, spec["sizes"])
        self.glayers = unflatten(self.grad, spec["sizes"])
        self.losses: list[float] = []

    def step(self, xb: np.ndarray, yb: np.ndarray) -> float:
        """Forward, loss, backward and one SGD-with-momentum step on a batch; returns the loss."""
        s = self.spec
        L = len(self.layers)
        acts = [xb]
        A = xb
        for l, (W, b) in enumerate(self.layers):
            Z = A @ W
            Z += b
            A = _activate(s["hidden"], Z) if l < L - 1 else Z
            acts.append(A)
        n = xb.shape[0]
        if s["loss"] == "cross_entropy":  # A holds the logits
            A -= A.max(axis=1, keepdims=True)
            E = np.exp(A)
            S = E.sum(axis=1, keepdims=True)
            loss = float(np.log(S).sum() - (yb * A).sum()) / n
            D = E / S
            D -= yb
            D /= n
        else:  # mse on the output activation
            P = _activate(s["output"], A)
            D = P - yb
            loss = float(np.vdot(D, D)) / D.size
            D *= 2.0 / D.size
            _times_derivative(s["output"], D, P)
        for l in range(L - 1, -1, -1):
            W = self.layers[l][0]
            dW, db = self.glayers[l]
            np.dot(acts[l].T, D, out=dW)
            D.sum(axis=0, out=db)
            if l > 0:
                D = D @ W.T
                _times_derivative(s["hidden"], D, acts[l])
        mu, lr = s["momentum"], s["lr"]
        if mu:
            self.vel *= mu
            self.vel += self.grad
            self.flat -= lr * self.vel
        else:
            self.flat -= lr * self.grad
        return loss

    def prepare(self) -> None:
        self.flat[...] = self.params0
        self.vel[...] = 0.0

    def run(self, epochs: int | None = None) -> None:
        N, batch = self.X.shape[0], self.spec["batch"]
        self.losses = []
        for e in range(epochs or self.spec["epochs"]):
            idx = self.perms[e]
            total = 0.0
            for start in range(0, N, batch):
                if batch >= N:  # full batch: nnlib does not shuffle it either
                    xb, yb = self.X, self.Y
                else:
                    rows = idx[start:start + batch]
                    xb, yb = self.X[rows], self.Y[rows]
                total += self.step(xb, yb) * xb.shape[0]
            self.losses.append(total / N)

    def params(self) -> np.ndarray:
        return self.flat.astype(np.float64)
