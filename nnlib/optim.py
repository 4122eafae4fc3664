"""Optimisers over a flat parameter buffer: SGD with momentum and weight decay, and Adam.

``params`` is an MLP (its flat ``params``; biases are not decayed) or any float64 1-D array
(updated in place; every entry decayed). ``step(grads)`` takes the flat gradient or the list
[(dW, db), ...] returned by ``MLP.loss_and_grads``. The same compiled updates run inside ``fit``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._lazy import train_kernels as T
from ._validate import check_nonnegative, check_positive


def _target(params: Any) -> tuple[np.ndarray, np.ndarray]:
    from .mlp import MLP
    if isinstance(params, MLP):
        return params.params, params.decay_mask
    if not (isinstance(params, np.ndarray) and params.ndim == 1 and params.dtype == np.float64
            and params.flags.c_contiguous):
        raise TypeError("params must be an MLP or a 1-D C-contiguous float64 array (e.g. net.params)")
    return params, np.ones_like(params)


def _flat(grads: Any, size: int) -> np.ndarray:
    if isinstance(grads, (list, tuple)):
        grads = np.concatenate([np.ravel(g) for pair in grads for g in pair])
    grads = np.ascontiguousarray(grads, dtype=np.float64).ravel()
    if grads.size != size:
        raise ValueError(f"grads has {grads.size} entries but params has {size}")
    return grads


class SGD:
    """Stochastic gradient descent with momentum (PyTorch convention) and L2 weight decay:
    g = grad + lam W;  v = mu v + g;  p -= lr v   (mu = 0: p -= lr g).

    Derived in chapter 7, *Gradient descent* ({ref}`sec-momentum`); weight decay in chapter 9
    ({ref}`sec-l2`).
    """

    def __init__(self, params: Any, lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        self.params, self.decay_mask = _target(params)
        self.lr = check_positive(lr, "lr")
        self.momentum = check_nonnegative(momentum, "momentum", upper=1.0)
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")
        self.velocity = np.zeros_like(self.params)

    def step(self, grads: Any) -> None:
        """Apply one update in place to the parameters."""
        T.sgd_step(self.params, _flat(grads, self.params.size), self.velocity, self.decay_mask,
                   self.lr, self.momentum, self.weight_decay)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay})"


class Adam:
    """Adam (PyTorch defaults): g = grad + lam W; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), t = 1, 2, ...

    Derived in chapter 7, *Gradient descent* ({ref}`sec-momentum`).
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        self.params, self.decay_mask = _target(params)
        self.lr = check_positive(lr, "lr")
        self.beta1 = check_nonnegative(betas[0], "betas[0]", upper=1.0)
        self.beta2 = check_nonnegative(betas[1], "betas[1]", upper=1.0)
        self.eps = check_positive(eps, "eps")
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")
        self.m = np.zeros_like(self.params)
        self.v = np.zeros_like(self.params)
        self.t = 0

    def step(self, grads: Any) -> None:
        """Apply one update in place to the parameters."""
        self.t += 1
        T.adam_step(self.params, _flat(grads, self.params.size), self.m, self.v, self.decay_mask,
                    self.t, self.lr, self.beta1, self.beta2, self.eps, self.weight_decay)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas=({self.beta1}, {self.beta2}), eps={self.eps})"
