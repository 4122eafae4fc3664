"""Numerical gradients by central differences, and the gradient check built on them (CS231n style).

The module is ``nnlib.numgrad``; its three functions are also ``nnlib.numerical_gradient``,
``nnlib.relative_error`` and ``nnlib.gradcheck``.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._validate import as_float_array


def relative_error(a: Any, b: Any) -> float:
    """max_i |a_i - b_i| / max(1e-8, |a_i| + |b_i|).

    How to read it (CS231n's scale, as in chapter 6): below 1e-7 good; 1e-7 to 1e-4 look again
    (kinks, or tiny gradient entries where finite differences round); 1e-4 to 1e-2 suspicious;
    above 1e-2 probably wrong. CS231n's notes divide by max(|a_i|, |b_i|) instead of the sum:
    the two differ by at most a factor of 2.

    Derived in chapter 6, *Backpropagation* ({ref}`sec-gradient-check`).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(f: Callable[[np.ndarray], float], x: Any, h: float = 1e-5) -> np.ndarray:
    """df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h) for every entry of x (x is restored after).

    If x is a float64 array it is perturbed in place (so f may read it, e.g. ``net.params``);
    otherwise a float64 copy is used. Derived in chapter 6 ({ref}`sec-backprop-vectorised`).
    """
    if not (isinstance(x, np.ndarray) and x.dtype == np.float64):
        x = as_float_array(x, "x").copy()
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so it can be perturbed in place")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = float(f(x))
        flat[i] = old - h
        fm = float(f(x))
        flat[i] = old
        gflat[i] = (fp - fm) / (2.0 * h)
    return grad


def gradcheck(net, X: Any, y: Any, loss: str = "mse", h: float = 1e-5,
              weight_decay: float = 0.0, mask: Any = None) -> float:
    """Max relative error between backprop's gradient and central differences over every parameter:
    ``relative_error(g, g_num)`` with g from ``net.loss_and_grads`` and g_num from
    :func:`numerical_gradient` of the loss (plus (lam/2) sum ||W||^2 with ``weight_decay`` lam).
    With a dropout ``mask`` (``net.dropout_mask(N)``), both use that same mask, held fixed.

    The network must be float64: in float32 the loss is rounded to about 1e-7 relative, and
    (f(x+h) - f(x-h)) / 2h with h = 1e-5 loses nearly every digit to that rounding; a float32
    network is refused with a ValueError (check ``net.astype("float64")`` instead).
    Derived in chapter 6, *Backpropagation* ({ref}`sec-backprop-vectorised`); float32 in chapter 9
    ({ref}`sec-float32`); dropout in chapter 12 ({ref}`sec-dropout`).
    """
    params = getattr(net, "params", None)
    if isinstance(params, np.ndarray) and params.dtype != np.float64:
        raise ValueError(
            f"gradcheck needs a float64 network, but net.params is {params.dtype}: central "
            f"differences (f(x+h) - f(x-h)) / 2h with h={h:g} drown in float32 rounding (about 1e-7 "
            f"of the loss). Check a float64 copy instead: gradcheck(net.astype('float64'), ...)")
    kw = {} if mask is None else {"mask": mask}
    _, grads = net.loss_and_grads(X, y, loss=loss, weight_decay=weight_decay, **kw)
    analytic = np.concatenate([g.ravel() for pair in grads for g in pair])

    def f(_: np.ndarray) -> float:
        value = net.loss(X, y, loss=loss, **kw)
        if weight_decay:
            value += 0.5 * weight_decay * float(np.sum(net.decay_mask * net.params ** 2))
        return value

    numeric = numerical_gradient(f, net.params, h)
    return relative_error(analytic, numeric)
