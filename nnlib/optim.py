"""Optimisers over a flat parameter buffer: SGD with momentum and weight decay, and Adam.

``params`` is an MLP (its flat ``params``; biases are not decayed) or any float64 (or float32) 1-D array
(updated in place; every entry decayed). ``step(grads)`` takes the flat gradient or the list
[(dW, db), ...] returned by ``MLP.loss_and_grads``. The same compiled updates run inside ``fit``.

This module owns the optimiser concept: the names ``fit`` accepts, the integer codes by which the
compiled training loop receives them, and the checks of every setting, gathered in one named
:class:`Settings` record that both the classes below and :func:`nnlib.fit` build with
:func:`settings` and hand to the compiled code.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ._lazy import train_kernels as T
from ._validate import check_name, check_nonnegative, check_positive

# Integer codes by which the compiled training loop receives an optimiser.
SGD_CODE, ADAM_CODE = 0, 1
#: The optimiser names ``fit(optimizer=...)`` accepts, and their codes.
OPTIMIZERS: dict[str, int] = {"sgd": SGD_CODE, "adam": ADAM_CODE}
ADAM_BETAS: tuple[float, float] = (0.9, 0.999)   # PyTorch's defaults
ADAM_EPS = 1e-8


class Settings(NamedTuple):
    """Every setting of one optimiser, by name, as the compiled training loop reads them.

    ``code`` is SGD_CODE or ADAM_CODE; ``momentum`` is used by SGD only, ``beta1``, ``beta2`` and
    ``eps`` by Adam only (the other optimiser's fields hold their neutral values). The updates are
    those of :class:`SGD` ({ref}`sec-momentum`) and :class:`Adam` ({ref}`sec-adam`).
    """

    code: int                 #: SGD_CODE or ADAM_CODE
    lr: float                 #: learning rate, > 0
    momentum: float           #: SGD's mu in [0, 1) (0 for Adam)
    weight_decay: float       #: L2 coefficient lam >= 0 (weights only)
    beta1: float              #: Adam's decay of the gradient's running mean (0 for SGD)
    beta2: float              #: Adam's decay of the squared gradient's running mean (0 for SGD)
    eps: float                #: Adam's guard against division by zero (0 for SGD)


def settings(optimizer: str, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
             betas: tuple[float, float] | None = None, eps: float | None = None) -> Settings:
    """Check the settings of ``optimizer`` ("sgd" or "adam") and return them as a :class:`Settings`.

    SGD takes ``momentum`` (in [0, 1)); Adam takes ``betas`` (each in [0, 1); default (0.9, 0.999))
    and ``eps`` (> 0; default 1e-8). A setting the chosen optimiser does not use is an error rather
    than silently ignored. Both take ``lr`` (> 0) and ``weight_decay`` (>= 0).
    SGD with momentum is derived in chapter 7 ({ref}`sec-momentum`), Adam in {ref}`sec-adam`.
    """
    name = check_name(optimizer, tuple(OPTIMIZERS), "optimizer")
    lr = check_positive(lr, "lr")
    mu = check_nonnegative(momentum, "momentum", upper=1.0)
    lam = check_nonnegative(weight_decay, "weight_decay")
    if name == "sgd":
        if betas is not None or eps is not None:
            raise ValueError("betas and eps are settings of optimizer='adam'; optimizer='sgd' "
                             f"does not use them (got betas={betas!r}, eps={eps!r})")
        return Settings(SGD_CODE, lr, mu, lam, 0.0, 0.0, 0.0)
    if mu:
        raise ValueError(f"momentum={momentum!r} is a setting of optimizer='sgd'; Adam keeps its "
                         "own running mean of the gradient: set betas=(beta1, beta2) instead")
    if betas is None:
        betas = ADAM_BETAS
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise TypeError(f"betas must be a pair (beta1, beta2) such as (0.9, 0.999), got {betas!r}")
    b1 = check_nonnegative(betas[0], "betas[0]", upper=1.0)
    b2 = check_nonnegative(betas[1], "betas[1]", upper=1.0)
    e = check_positive(ADAM_EPS if eps is None else eps, "eps")
    return Settings(ADAM_CODE, lr, 0.0, lam, b1, b2, e)


def _target(params: Any) -> tuple[np.ndarray, np.ndarray]:
    # An MLP (or anything with a flat ``params`` and its ``decay_mask``), or a bare flat array.
    if hasattr(params, "params") and hasattr(params, "decay_mask"):
        return params.params, params.decay_mask.astype(params.params.dtype)
    if not (isinstance(params, np.ndarray) and params.ndim == 1
            and params.dtype in (np.float64, np.float32) and params.flags.c_contiguous):
        raise TypeError("params must be an MLP or a 1-D C-contiguous float64 (or float32) array "
                        "(e.g. net.params)")
    return params, np.ones_like(params)


def _flat(grads: Any, size: int, dtype: Any = np.float64) -> np.ndarray:
    if isinstance(grads, (list, tuple)):
        grads = np.concatenate([np.ravel(g) for pair in grads for g in pair])
    grads = np.ascontiguousarray(grads, dtype=dtype).ravel()
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
        s = settings("sgd", lr, momentum=momentum, weight_decay=weight_decay)
        self.lr, self.momentum, self.weight_decay = s.lr, s.momentum, s.weight_decay
        self.velocity = np.zeros_like(self.params)

    @property
    def settings(self) -> Settings:
        """The current settings, checked again (they may have been changed by assignment)."""
        return settings("sgd", self.lr, momentum=self.momentum, weight_decay=self.weight_decay)

    def step(self, grads: Any) -> None:
        """Apply one update in place: g = grad + lam W; v = mu v + g; p -= lr v ({ref}`sec-momentum`)."""
        s = self.settings
        g = _flat(grads, self.params.size, self.params.dtype)
        T.sgd_step(self.params, g, self.velocity, self.decay_mask,
                   s.lr, s.momentum, s.weight_decay)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay})"


class Adam:
    """Adam (PyTorch defaults): g = grad + lam W; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), t = 1, 2, ...

    Derived in chapter 7, *Gradient descent* ({ref}`sec-adam`; its ingredients: momentum,
    {ref}`sec-momentum`, and RMSProp, {ref}`sec-rmsprop`).
    """

    def __init__(self, params: Any, lr: float = 1e-3, betas: tuple[float, float] = ADAM_BETAS,
                 eps: float = ADAM_EPS, weight_decay: float = 0.0) -> None:
        self.params, self.decay_mask = _target(params)
        s = settings("adam", lr, weight_decay=weight_decay, betas=betas, eps=eps)
        self.lr, self.beta1, self.beta2, self.eps = s.lr, s.beta1, s.beta2, s.eps
        self.weight_decay = s.weight_decay
        self.m = np.zeros_like(self.params)
        self.v = np.zeros_like(self.params)
        self.t = 0

    @property
    def settings(self) -> Settings:
        """The current settings, checked again (they may have been changed by assignment)."""
        return settings("adam", self.lr, weight_decay=self.weight_decay,
                        betas=(self.beta1, self.beta2), eps=self.eps)

    def step(self, grads: Any) -> None:
        """Apply update t = 1, 2, ... in place, as in the class docstring ({ref}`sec-adam`)."""
        self.t += 1
        s = self.settings
        g = _flat(grads, self.params.size, self.params.dtype)
        T.adam_step(self.params, g, self.m, self.v, self.decay_mask,
                    self.t, s.lr, s.beta1, s.beta2, s.eps, s.weight_decay)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas=({self.beta1}, {self.beta2}), eps={self.eps})"
