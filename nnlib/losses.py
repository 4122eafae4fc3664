"""Loss functions (mean reduction, as in PyTorch) with their gradients.

N is the number of rows (samples) and K the number of output columns.

This module owns the loss concept: the NumPy losses below, their names and aliases, the integer
codes by which the compiled kernels receive them, and which output activation each loss may follow
(:data:`PAIRINGS`). The network computes the same losses in compiled code
(:func:`nnlib.kernels.loss_and_delta`); ``tests/test_nnlib_losses.py`` ties the two together.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._validate import as_float_array, check_name
from .activations import softmax

# Integer codes by which the compiled kernels receive a loss (compile-time constants there).
MSE, BCE, CROSS_ENTROPY = 0, 1, 2


def _pair(a: Any, y: Any, a_name: str) -> tuple[np.ndarray, np.ndarray, int, int]:
    a = as_float_array(a, a_name)
    y = as_float_array(y, "y")
    if a.ndim == 0 or a.ndim > 2:
        raise ValueError(f"{a_name} must be 1-D or 2-D (N, K), got shape {a.shape}")
    if y.shape != a.shape:
        if y.size == a.size and (a.ndim == 1 or a.shape[1] == 1):
            y = y.reshape(a.shape)
        else:
            raise ValueError(f"y has shape {y.shape} but {a_name} has shape {a.shape}; "
                             f"expected the same shape")
    n = a.shape[0]
    return a, y, n, a.size // n


def mse(a: Any, y: Any) -> float:
    """Mean squared error L = (1 / (N K)) sum_{i,k} (a_ik - y_ik)^2.

    Derived in chapter 6, *Backpropagation* ({ref}`sec-delta`).
    """
    a, y, n, k = _pair(a, y, "a")
    return float(np.sum((a - y) ** 2) / (n * k))


def mse_grad(a: Any, y: Any) -> np.ndarray:
    """dL/da = 2 (a - y) / (N K) for the mean squared error.

    Derived in chapter 6, *Backpropagation* ({ref}`sec-delta`).
    """
    a, y, n, k = _pair(a, y, "a")
    return 2.0 * (a - y) / (n * k)


_P_EPS = 1e-15


def binary_cross_entropy(p: Any, y: Any) -> float:
    """L = -(1 / (N K)) sum [y log p + (1 - y) log(1 - p)], p clipped to [1e-15, 1 - 1e-15].

    (The network computes it from the logit z instead, which is exact and stable.)
    Derived in chapter 6, *Backpropagation* ({ref}`sec-delta`).
    """
    p, y, n, k = _pair(p, y, "p")
    p = np.clip(p, _P_EPS, 1.0 - _P_EPS)
    return float(-np.sum(y * np.log(p) + (1.0 - y) * np.log1p(-p)) / (n * k))


def binary_cross_entropy_grad(p: Any, y: Any) -> np.ndarray:
    """dL/dp = (p - y) / (p (1 - p) N K); times sigma'(z) = p(1 - p) it gives dL/dz = (p - y)/(N K).

    Derived in chapter 6, *Backpropagation* ({ref}`sec-delta`).
    """
    p, y, n, k = _pair(p, y, "p")
    p = np.clip(p, _P_EPS, 1.0 - _P_EPS)
    return (p - y) / (p * (1.0 - p) * n * k)


def _logits(z: Any, y: Any) -> tuple[np.ndarray, np.ndarray, int]:
    z = as_float_array(z, "z")
    if z.ndim == 1:
        z = z.reshape(1, -1)
    y = np.asarray(y)
    if y.ndim == 1 and y.shape[0] == z.shape[0] and z.shape[1] > 1 and y.dtype.kind in "iu":
        y = np.eye(z.shape[1])[y]          # integer class labels -> one-hot rows
    if np.size(y) != z.size:
        raise ValueError(f"y must be one-hot with shape {z.shape} (or integer labels of length "
                         f"{z.shape[0]}), got shape {y.shape}")
    return z, check_targets("cross_entropy", as_float_array(y, "y").reshape(z.shape)), z.shape[0]


def cross_entropy(z: Any, y: Any) -> float:
    """Softmax cross-entropy from logits z (N, K) and one-hot y:
    L = -(1/N) sum_i sum_k y_ik (z_ik - log sum_j e^{z_ij}), log-sum-exp taken stably.

    Derived in chapter 6, *Backpropagation* ({ref}`sec-softmax-cross-entropy`).
    """
    z, y, n = _logits(z, y)
    m = z.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return float(-np.sum(y * (z - lse)) / n)


def cross_entropy_grad(z: Any, y: Any) -> np.ndarray:
    """dL/dz = (softmax(z) - y) / N for the softmax cross-entropy (rows of y sum to 1).

    Derived in chapter 6, *Backpropagation* ({ref}`sec-softmax-cross-entropy`).
    """
    z, y, n = _logits(z, y)
    return (softmax(z) - y) / n


#: Each loss name with its (loss, gradient) NumPy functions.
LOSSES: dict[str, tuple[Callable[..., float], Callable[..., np.ndarray]]] = {
    "mse": (mse, mse_grad),
    "bce": (binary_cross_entropy, binary_cross_entropy_grad),
    "cross_entropy": (cross_entropy, cross_entropy_grad),
}
#: Other names accepted for a loss.
ALIASES = {"binary_cross_entropy": "bce", "ce": "cross_entropy"}
#: The code of every loss name, as the compiled kernels receive it.
CODES: dict[str, int] = {"mse": MSE, "bce": BCE, "cross_entropy": CROSS_ENTROPY}

#: Which output activations each loss may follow. bce and cross_entropy need the output whose
#: derivative cancels against theirs (chapter 6, {ref}`sec-delta`): the error signal at the output
#: is then simply (A - Y) / N (per output column for bce).
PAIRINGS: dict[str, tuple[str, ...]] = {
    "mse": ("identity", "sigmoid", "tanh", "relu"),
    "bce": ("sigmoid",),
    "cross_entropy": ("softmax",),
}


def canonical(name: Any) -> str:
    """The loss name after aliases (``binary_cross_entropy`` -> ``bce``); errors list the known ones.

    The losses are derived in chapter 6, *Backpropagation* ({ref}`sec-delta`).
    """
    if isinstance(name, str):
        name = ALIASES.get(name, name)
    return check_name(name, tuple(LOSSES), "loss")


def check_pairing(loss: str, output: str) -> None:
    """The loss must suit the output activation (bce needs sigmoid, cross_entropy needs softmax):
    only then does dL/dZ_L reduce to (A - Y) / N (chapter 6, {ref}`sec-delta`)."""
    allowed = PAIRINGS[loss]
    if output not in allowed:
        suggest = [k for k, v in PAIRINGS.items() if output in v]
        raise ValueError(
            f"loss={loss!r} does not fit output={output!r}: {loss!r} needs output="
            f"{' or '.join(map(repr, allowed))}; with output={output!r} use loss="
            f"{' or '.join(map(repr, suggest))} (valid pairings: mse with identity/sigmoid/tanh/"
            f"relu, bce with sigmoid, cross_entropy with softmax)")


def check_targets(loss: Any, Y: np.ndarray, name: str = "y") -> np.ndarray:
    """Targets for softmax cross-entropy must be distributions: every row y_i >= 0 with
    sum_k y_ik = 1 (one-hot rows, or soft labels). Only then is dL/dz = (softmax(z) - y) / N; in
    general it is ((sum_k y_ik) softmax(z_i) - y_i) / N (chapter 6, {ref}`sec-softmax-cross-entropy`).
    Other losses take any finite targets. Returns ``Y`` unchanged."""
    if canonical(loss) == "cross_entropy" and Y.size:
        sums = Y.sum(axis=1)
        tol = 1e-6 if Y.dtype == np.float64 else 1e-5      # float32 rows: rounding ~6e-8 each
        bad = np.flatnonzero((np.abs(sums - 1.0) > tol) | (Y < 0).any(axis=1))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"{name} row {i} is {Y[i].tolist()} (sum {sums[i]:.6g}), but loss='cross_entropy' "
                f"needs every row to be a probability distribution: entries >= 0 that sum to 1, "
                f"e.g. one-hot rows from nnlib.datasets.one_hot(labels, K); {bad.size} of "
                f"{Y.shape[0]} rows are not")
    return Y


def code_for(loss: Any, output: str) -> int:
    """The compiled code of ``loss`` (a name or alias), after checking it suits ``output``
    (:func:`check_pairing`; chapter 6, {ref}`sec-delta`)."""
    name = canonical(loss)
    check_pairing(name, output)
    return CODES[name]
