"""Training: ``fit`` runs many epochs inside one compiled call and returns a ``History``."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _codes as C
from ._lazy import train_kernels as T
from ._validate import (
    as_generator,
    check_int,
    check_name,
    check_nonnegative,
    check_positive,
    check_X,
    check_y,
)

OPTIMIZERS = ("sgd", "adam")
_PERM_BUDGET = 2_000_000  # int64 entries of shuffle order precomputed per compiled call (16 MB)


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite during ``fit``: the step size overshoots.

    See chapter 7, *Gradient descent* ({ref}`sec-learning-rate`).
    """


@dataclass
class History:
    """Per-epoch record of a ``fit``: ``loss``/``accuracy`` on the training data (batch-size-weighted
    mean over the epoch's mini-batches, each measured just before its update, as Keras reports it;
    the loss excludes the weight-decay penalty), ``val_loss``/``val_accuracy`` on the validation
    data after the epoch (empty lists without validation data). Accuracy is NaN for an identity
    output. ``best_epoch`` indexes these lists (0-based): lowest validation loss, or lowest
    training loss without validation data.
    See chapter 7 ({ref}`sec-when-to-stop`) and chapter 9 ({ref}`sec-early-stopping`).
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epochs_run: int = 0
    stopped_early: bool = False
    best_epoch: int | None = None

    def __repr__(self) -> str:
        last = f", loss={self.loss[-1]:.4g}" if self.loss else ""
        val = f", val_loss={self.val_loss[-1]:.4g}" if self.val_loss else ""
        return (f"History(epochs_run={self.epochs_run}{last}{val}, "
                f"stopped_early={self.stopped_early}, best_epoch={self.best_epoch})")


def fit(net, X: Any, y: Any, loss: str = "mse", lr: float = 0.1, epochs: int = 100,
        batch_size: int | None = None, momentum: float = 0.0, weight_decay: float = 0.0,
        optimizer: str = "sgd", shuffle: bool = True, seed: Any = None,
        validation_data: tuple[Any, Any] | None = None, patience: int | None = None) -> History:
    """Train ``net`` in place by mini-batch gradient descent and return its History.

    Each epoch visits the rows in an order shuffled by ``seed`` (an int or numpy Generator; default:
    the network's own generator), in batches of ``batch_size`` rows (None: the whole set), and
    after each batch applies SGD with momentum (v = mu v + g; p -= lr v) or Adam, with
    g = dL/dp + weight_decay * W. ``patience``: stop after that many epochs without a lower
    validation loss and restore the best weights. A NaN/inf loss raises TrainingDiverged (the
    weights are reset to their values before the call).
    Derived in chapter 7, *Gradient descent* ({ref}`sec-batch-sizes`, {ref}`sec-momentum`) and
    chapter 9 ({ref}`sec-l2`, {ref}`sec-early-stopping`).
    """
    from .mlp import _LOSS_CODES
    code = _LOSS_CODES[net._check_loss(loss)]
    X = check_X(X, net.sizes[0])
    Y = check_y(y, X.shape[0], net.sizes[-1])
    N = X.shape[0]
    lr = check_positive(lr, "lr")
    epochs = check_int(epochs, "epochs")
    batch = N if batch_size is None else min(check_int(batch_size, "batch_size"), N)
    mu = check_nonnegative(momentum, "momentum", upper=1.0)
    lam = check_nonnegative(weight_decay, "weight_decay")
    opt = check_name(optimizer, OPTIMIZERS, "optimizer")
    if validation_data is None:
        Xv, Yv = np.zeros((0, net.sizes[0])), np.zeros((0, net.sizes[-1]))
    else:
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise TypeError("validation_data must be a pair (X_val, y_val)")
        Xv = check_X(validation_data[0], net.sizes[0], name="validation_data[0]")
        Yv = check_y(validation_data[1], Xv.shape[0], net.sizes[-1], name="validation_data[1]",
                     x_name="validation_data[0]")
    if patience is not None:
        patience = check_int(patience, "patience")
        if validation_data is None:
            raise ValueError("patience (early stopping) needs validation_data=(X_val, y_val) to "
                             "watch the validation loss; got validation_data=None")
    rng = net.rng if seed is None else as_generator(seed)

    width = int(net._sizes[1:].sum())
    nv = Xv.shape[0]
    bufs = [np.empty(batch * width) for _ in range(3)]
    grads = np.zeros_like(net.params)
    xbuf, ybuf = np.empty((batch, net.sizes[0])), np.empty((batch, net.sizes[-1]))
    zv, av = np.empty(nv * width), np.empty(nv * width)
    state1, state2 = np.zeros_like(net.params), np.zeros_like(net.params)
    counters = np.zeros(4, dtype=np.int64)
    reshuffle = shuffle and batch < N
    hyper = np.array([lr, mu, lam, 0.9, 0.999, 1e-8, patience or 0, batch == N and not reshuffle],
                     dtype=np.float64)
    best_params, best_val = net.params.copy(), np.full(1, np.inf)
    start = net.params.copy()
    opt_code = C.SGD_CODE if opt == "sgd" else C.ADAM_CODE
    mask = net.decay_mask
    history = History()
    chunk = max(1, min(epochs, _PERM_BUDGET // N))
    done, status = 0, C.OK
    while done < epochs and status != C.STOPPED:
        E = min(chunk, epochs - done)
        perms = np.tile(np.arange(N, dtype=np.int64), (E, 1))
        if reshuffle:
            perms = np.ascontiguousarray(rng.permuted(perms, axis=1))
        hist = np.full((E, 4), np.nan)
        with np.errstate(all="ignore"):  # only matters with NUMBA_DISABLE_JIT=1: a diverging
            # run overflows on the way to the NaN that is reported below
            status, last = T.train_epochs(net.params, net._sizes, net._acts, code, X, Y, Xv, Yv,
                                          perms, batch, opt_code, hyper, mask, state1, state2,
                                          counters, bufs[0], bufs[1], bufs[2], grads, xbuf, ybuf,
                                          zv, av, hist, best_params, best_val)
        if status == C.DIVERGED:
            net.params[...] = start
            k = done + int(last) + 1
            raise TrainingDiverged(
                f"training diverged: the loss became NaN or inf at epoch {k} of {epochs} with "
                f"lr={lr:g}; the weights were reset to their values before fit. Try a smaller "
                f"learning rate, e.g. lr={lr / 10:g} (and check the inputs are scaled to about "
                f"unit size).")
        rows = hist[:int(last) + 1]
        history.loss += rows[:, 0].tolist()
        history.accuracy += rows[:, 1].tolist()
        if nv:
            history.val_loss += rows[:, 2].tolist()
            history.val_accuracy += rows[:, 3].tolist()
        done += int(last) + 1
    if net.output == "identity":
        history.accuracy = [math.nan] * len(history.accuracy)
        history.val_accuracy = [math.nan] * len(history.val_accuracy)
    history.epochs_run = done
    history.stopped_early = status == C.STOPPED
    if nv:
        history.best_epoch = int(counters[2])
        if patience is not None:
            net.params[...] = best_params
    else:
        history.best_epoch = int(np.argmin(history.loss))
    return history
