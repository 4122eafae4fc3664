"""The floor under nnlib's XOR epoch (issue 14): two stripped Numba kernels, timed like nnlib.

* ``transcendentals``: only the 16 tanh and 4 sigmoid evaluations of one epoch of XOR 2-4-1
  (4 rows x 4 hidden units, 4 rows x 1 output), with nnlib's own stable scalar formulas
  (:func:`nnlib.kernels.tanh_scalar`, :func:`nnlib.kernels.sigmoid_scalar`), each input depending
  on the previous results so that nothing can be hoisted out of the loop. No implementation of the
  algorithm can be faster than this.
* ``stripped``: the whole training epoch (forward, MSE, backward, gradient step, the epoch's loss
  and accuracy recorded) written for exactly 2-4-1 with scalar loops over fixed-size arrays: no
  layout arithmetic, no views, no generality. Its final weights must equal nnlib's (checked:
  ``max_param_diff``), so it is the same computation, specialised by hand.

``limits(X, Y, spec, repeats)`` returns {transcendentals_epoch_s, stripped_epoch_s,
stripped_max_param_diff}; nnlib's distance to the limit is its epoch time over these.
"""
from __future__ import annotations

import time

import numpy as np
from numba import njit

from nnlib.kernels import sigmoid_scalar, tanh_scalar


@njit(cache=True)
def transcendentals(epochs, z0):
    """20 dependent transcendental evaluations per epoch (16 tanh, 4 sigmoid); returns a checksum."""
    acc = 0.0
    z = z0
    for _ in range(epochs):
        s = 0.0
        for k in range(16):
            s += tanh_scalar(z + 0.01 * k)
        for k in range(4):
            s += sigmoid_scalar(z - 0.01 * k)
        z = 0.5 * z + 1e-3 * s        # the next epoch depends on this one
        acc += s
    return acc


@njit(cache=True)
def stripped(W1, b1, W2, b2, X, Y, lr, epochs, hist):
    """Full-batch gradient descent on 2-4-1 tanh/sigmoid with the mean squared error, in place;
    hist[e] = (loss, accuracy) of epoch e before its update (as nnlib records it)."""
    n = X.shape[0]
    H = np.empty((4, 4))
    dW1 = np.empty((2, 4))
    db1 = np.empty(4)
    dH = np.empty(4)
    for e in range(epochs):
        loss = 0.0
        correct = 0
        for j in range(4):
            db1[j] = 0.0
            dW1[0, j] = 0.0
            dW1[1, j] = 0.0
        dW2 = np.zeros(4)
        db2 = 0.0
        for i in range(n):
            for j in range(4):
                H[i, j] = tanh_scalar(X[i, 0] * W1[0, j] + X[i, 1] * W1[1, j] + b1[j])
        for i in range(n):
            z = b2[0]
            for j in range(4):
                z += H[i, j] * W2[j, 0]
            a = sigmoid_scalar(z)
            d = a - Y[i, 0]
            loss += d * d
            if (a >= 0.5) == (Y[i, 0] >= 0.5):
                correct += 1
            g = 2.0 * d / n * a * (1.0 - a)          # dL/dz of the output
            db2 += g
            for j in range(4):
                dW2[j] += H[i, j] * g
                dH[j] = g * W2[j, 0] * (1.0 - H[i, j] * H[i, j])
            for j in range(4):
                dW1[0, j] += X[i, 0] * dH[j]
                dW1[1, j] += X[i, 1] * dH[j]
                db1[j] += dH[j]
        hist[e, 0] = loss / n
        hist[e, 1] = correct / n
        for j in range(4):
            W1[0, j] -= lr * dW1[0, j]
            W1[1, j] -= lr * dW1[1, j]
            b1[j] -= lr * db1[j]
            W2[j, 0] -= lr * dW2[j]
        b2[0] -= lr * db2


def limits(X: np.ndarray, Y: np.ndarray, spec: dict, repeats: int) -> dict:
    """Time both stripped kernels over ``spec["epochs"]`` epochs (best of ``repeats``: a floor)."""
    import nnlib
    assert spec["sizes"] == [2, 4, 1] and spec["momentum"] == 0.0
    epochs, lr = spec["epochs"], spec["lr"]
    net = nnlib.MLP([2, 4, 1], hidden="tanh", output="sigmoid", seed=0)
    start = net.params.copy()
    transcendentals(2, 0.3)
    best_t = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        transcendentals(epochs, 0.3)
        best_t = min(best_t, time.perf_counter() - t)
    hist = np.empty((epochs, 2))
    best_s = np.inf
    for _ in range(repeats + 1):                   # the first call compiles (or loads) it
        W1, b1 = start[:8].reshape(2, 4).copy(), start[8:12].copy()
        W2, b2 = start[12:16].reshape(4, 1).copy(), start[16:17].copy()
        t = time.perf_counter()
        stripped(W1, b1, W2, b2, X, Y, lr, epochs, hist)
        best_s = min(best_s, time.perf_counter() - t)
    net.fit(X, Y, loss="mse", lr=lr, epochs=epochs)
    mine = np.concatenate([W1.ravel(), b1, W2.ravel(), b2])
    return {"transcendentals_epoch_s": best_t / epochs, "stripped_epoch_s": best_s / epochs,
            "stripped_max_param_diff": float(np.max(np.abs(mine - net.params)))}
