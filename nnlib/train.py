"""Training: ``fit`` runs many epochs inside one compiled call and returns a ``History``."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np

from . import losses, optim
from ._lazy import kernels as K
from ._lazy import train_kernels as T
from ._notice import before_first_call, pick_variant
from ._validate import as_generator, check_int, check_X, check_y
from .activations import CODES

_PERM_BUDGET = 2_000_000  # int64 entries of shuffle order precomputed per compiled call (16 MB)

# Status returned by the compiled training loop (train_kernels.train_epochs).
OK, DIVERGED, STOPPED = 0, 1, 2


class Trainable(Protocol):
    """What ``fit`` needs of a network (an :class:`~nnlib.MLP` has it all): its layer widths,
    activations, flat parameters (float64 or float32) and dropout rates (chapter 8,
    {ref}`sec-mlp-nnlib`; dropout in chapter 12, {ref}`sec-dropout`)."""

    sizes: list[int]
    output: str
    params: np.ndarray
    rng: np.random.Generator
    layers: list[Any]             # each with an ``activation`` name
    dropout: tuple[float, ...]    # one rate per hidden layer

    @property
    def decay_mask(self) -> np.ndarray: ...


# What crosses into the compiled training loop, by name (Numba reads NamedTuple fields as
# attributes, at no cost).
class Network(NamedTuple):
    """The network as the kernels see it (layout in :mod:`nnlib.kernels`; chapter 5,
    {ref}`sec-forward-batch`)."""

    params: np.ndarray            #: float64 or float32 (P,), updated in place
    sizes: np.ndarray             #: int64 (L+1,)
    acts: np.ndarray              #: int64 (L,) activation codes
    decay_mask: np.ndarray        #: (P,), params' dtype: 1 on weights, 0 on biases
    keep: np.ndarray              #: float64 (L,): 1 - dropout rate of each layer (1: no dropout)


class Data(NamedTuple):
    """The training set and the validation set (chapter 9, {ref}`sec-early-stopping`)."""

    X: np.ndarray                 #: training inputs (N, n_0)
    Y: np.ndarray                 #: training targets (N, n_L)
    Xv: np.ndarray                #: validation inputs (0 rows: none)
    Yv: np.ndarray                #: validation targets


class Plan(NamedTuple):
    """How to train: loss, batch size, row order, early stopping (chapter 7, {ref}`sec-batch-sizes`)."""

    loss: int                     #: loss code (nnlib.losses.CODES)
    batch: int                    #: rows per mini-batch
    in_order: bool                #: one full batch of the rows as given (no gathering)
    patience: int                 #: early stopping after that many epochs without improvement; 0: off


class Workspace(NamedTuple):
    """Scratch buffers, allocated once per ``fit`` (chapter 6, {ref}`sec-backprop-vectorised`)."""

    zbuf: np.ndarray              #: Z_l of one batch (layout in nnlib.kernels)
    abuf: np.ndarray              #: A_l of one batch
    dbuf: np.ndarray              #: delta_l of one batch
    grads: np.ndarray             #: dL/dparams (P,)
    xbuf: np.ndarray              #: the gathered rows of one batch (flat, batch * n_0)
    ybuf: np.ndarray              #: their targets (flat, batch * n_L)
    zv: np.ndarray                #: Z_l of the validation set
    av: np.ndarray                #: A_l of the validation set
    mbuf: np.ndarray              #: dropout masks of one batch (zbuf's layout); empty: no dropout


class Progress(NamedTuple):
    """What the compiled loop updates: optimiser state, counters, history, the dropout stream
    (chapter 7, {ref}`sec-momentum`; chapter 12, {ref}`sec-dropout`)."""

    state1: np.ndarray            #: SGD: velocity; Adam: first moment m
    state2: np.ndarray            #: Adam: second moment v
    counters: np.ndarray          #: int64 [Adam step t, epochs done]
    hist: np.ndarray              #: (E, 4) per epoch: train loss, train accuracy, val loss, val
                                  #: accuracy (the last two filled in by ``fit``)
    rng_state: np.ndarray         #: uint64 (1,): the dropout masks' random stream


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


def fit(net: Trainable, X: Any, y: Any, loss: str = "mse", lr: float = 0.1, epochs: int = 100,
        batch_size: int | None = None, momentum: float = 0.0, weight_decay: float = 0.0,
        optimizer: str = "sgd", shuffle: bool = True, seed: Any = None,
        validation_data: tuple[Any, Any] | None = None, patience: int | None = None,
        betas: tuple[float, float] | None = None, eps: float | None = None) -> History:
    """Train ``net`` in place by mini-batch gradient descent and return its History.

    Each epoch visits the rows in an order shuffled by ``seed`` (an int or numpy Generator; default:
    the network's own generator), in batches of ``batch_size`` rows (None: the whole set), and
    after each batch applies SGD with momentum (v = mu v + g; p -= lr v) or Adam
    (``optimizer="adam"``, with ``betas`` and ``eps`` as in :class:`nnlib.optim.Adam`), with
    g = dL/dp + weight_decay * W. ``patience``: stop after that many epochs without a lower
    validation loss and restore the best weights. A NaN/inf loss raises TrainingDiverged (the
    weights are reset to their values before the call). ``net.fit(X, y, ...)`` is the same function.
    With ``MLP(..., dropout=p)``, every batch draws fresh inverted-dropout masks m ~ Bernoulli(1 - p)
    for the hidden units (h~ = m h / (1 - p)), from a stream seeded by one draw from the network's
    generator (or ``seed``), so the same seed repeats a run exactly; the validation loss and
    ``predict`` use no dropout. A float32 network trains in float32 (its inputs are converted).
    Derived in chapter 7, *Gradient descent* ({ref}`sec-batch-sizes`, {ref}`sec-momentum`,
    {ref}`sec-adam`), chapter 9 ({ref}`sec-l2`, {ref}`sec-early-stopping`) and chapter 12
    ({ref}`sec-dropout`).
    """
    code = losses.code_for(loss, net.output)
    dtype = net.params.dtype
    X = check_X(X, net.sizes[0], dtype=dtype)
    Y = losses.check_targets(loss, check_y(y, X.shape[0], net.sizes[-1], dtype=dtype))
    N = X.shape[0]
    opt = optim.settings(optimizer, lr, momentum=momentum, weight_decay=weight_decay, betas=betas,
                         eps=eps)
    epochs = check_int(epochs, "epochs")
    batch = N if batch_size is None else min(check_int(batch_size, "batch_size"), N)
    if validation_data is None:
        Xv, Yv = np.zeros((0, net.sizes[0])), np.zeros((0, net.sizes[-1]))
    else:
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise TypeError("validation_data must be a pair (X_val, y_val)")
        Xv = check_X(validation_data[0], net.sizes[0], name="validation_data[0]", dtype=dtype)
        Yv = check_y(validation_data[1], Xv.shape[0], net.sizes[-1], name="validation_data[1]",
                     x_name="validation_data[0]", dtype=dtype)
        losses.check_targets(loss, Yv, name="validation_data[1]")
    Xv, Yv = Xv.astype(dtype, copy=False), Yv.astype(dtype, copy=False)
    if patience is not None:
        patience = check_int(patience, "patience")
        if validation_data is None:
            raise ValueError("patience (early stopping) needs validation_data=(X_val, y_val) to "
                             "watch the validation loss; got validation_data=None")
    rng = net.rng if seed is None else as_generator(seed)

    params = net.params
    rates = tuple(getattr(net, "dropout", ()))
    keep = np.ones(len(net.sizes) - 1)
    keep[:len(rates)] = 1.0 - np.array(rates, dtype=np.float64)
    dropping = bool(np.any(keep < 1.0))
    # One draw from the generator seeds the masks' stream, only when there is dropout (so that
    # dropout=0 leaves the generator, hence the shuffles, exactly as without it).
    rng_state = np.zeros(1, dtype=np.uint64)
    if dropping:
        rng_state[0] = rng.integers(0, 2 ** 64, dtype=np.uint64)
    network = Network(params, np.array(net.sizes, dtype=np.int64),
                      np.array([CODES[layer.activation] for layer in net.layers], dtype=np.int64),
                      net.decay_mask.astype(dtype, copy=False), keep)
    width = sum(net.sizes[1:])
    nv = Xv.shape[0]
    work = Workspace(np.empty(batch * width, dtype), np.empty(batch * width, dtype),
                     np.empty(batch * width, dtype), np.zeros_like(params),
                     np.empty(batch * net.sizes[0], dtype), np.empty(batch * net.sizes[-1], dtype),
                     np.empty(nv * width, dtype), np.empty(nv * width, dtype),
                     np.empty(batch * width if dropping else 0, dtype))
    reshuffle = shuffle and batch < N
    plan = Plan(code, batch, batch == N and not reshuffle, patience or 0)
    data = Data(X, Y, Xv, Yv)
    state1, state2 = np.zeros_like(params), np.zeros_like(params)
    counters = np.zeros(2, dtype=np.int64)
    best_params, best_val, best_epoch, since_best = params.copy(), math.inf, 0, 0
    start = params.copy()
    history = History()
    chunk = max(1, min(epochs, _PERM_BUDGET // N))
    done, status = 0, OK
    while done < epochs and status != STOPPED:
        E = min(chunk, epochs - done)
        perms = np.tile(np.arange(N, dtype=np.int64), (E, 1))
        if reshuffle:
            perms = np.ascontiguousarray(rng.permuted(perms, axis=1))
        hist = np.full((E, 4), np.nan)
        # Without validation data, all E epochs in one compiled call. With it, one epoch per call
        # and the validation pass (a separate compiled function, compiled only when used) after
        # each: the training kernel then never contains it, which shortens its first compile.
        step = E if nv == 0 else 1
        # None selects, at compile time, the variant without Adam or without dropout masks: Numba
        # prunes an `is None` branch, so a first fit compiles only the optimiser it uses (and the
        # mask drawing only with dropout): 4.9 -> 4.3 s CPU for a cold first fit.
        adam = None if opt.code == optim.SGD_CODE else state2
        masks = rng_state if dropping else None
        # Likewise the activations and the loss (kernels.variant, loss_variant), unless the
        # variant that has everything is compiled or cached already (same numbers).
        kinds, loss_kinds = pick_variant(
            T.train_epochs, dtype, (adam, masks),
            (K.variant(network.acts, dropping, network.sizes), K.loss_variant(code)),
            (K.GENERIC, K.GENERIC_LOSS))
        before_first_call(T.train_epochs, dtype, adam, masks, kinds, loss_kinds)
        for e0 in range(0, E, step):
            progress = Progress(state1, state2, counters, hist[e0:e0 + step], rng_state)
            with np.errstate(all="ignore"):  # only matters with NUMBA_DISABLE_JIT=1: a diverging
                # run overflows on the way to the NaN that is reported below
                status, last = T.train_epochs(network, data, perms[e0:e0 + step], plan, opt, work,
                                              progress, adam, masks, kinds, loss_kinds)
            last += e0
            if status == OK and nv:
                vl, va = T.evaluate(params, network.sizes, network.acts, code, Xv, Yv, work.zv,
                                    work.av, keep, work.mbuf[:0], kinds)
                hist[e0, 2], hist[e0, 3] = vl, va
                if not math.isfinite(vl):
                    status = DIVERGED
                elif done + e0 == 0 or vl < best_val:
                    best_val, best_epoch, since_best = vl, done + e0, 0
                    best_params[...] = params
                else:
                    since_best += 1
                    if patience and since_best >= patience:
                        status = STOPPED
            if status != OK:
                break
        if status == DIVERGED:
            params[...] = start
            k = done + int(last) + 1
            raise TrainingDiverged(
                f"training diverged: the loss became NaN or inf at epoch {k} of {epochs} with "
                f"lr={opt.lr:g}; the weights were reset to their values before fit. Try a smaller "
                f"learning rate, e.g. lr={opt.lr / 10:g} (and check the inputs are scaled to about "
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
    history.stopped_early = status == STOPPED
    if nv:
        history.best_epoch = best_epoch
        if patience is not None:
            params[...] = best_params
    else:
        history.best_epoch = int(np.argmin(history.loss))
    return history
