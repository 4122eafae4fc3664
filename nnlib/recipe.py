"""The training recipe's checks, as functions to run on a real network before and while training.

Each one answers one question of chapter 12, *A recipe for training a network*
({ref}`sec-recipe`), and each returns numbers (or a small record of them) rather than printing,
so that a notebook or a test can assert on the verdict:

* :func:`standardiser`: inputs scaled column by column with training-set statistics
  ({ref}`sec-data-first`);
* :func:`check_initial_loss`: the loss before training is about ln C ({ref}`sec-initial-loss`);
* :func:`overfit_batch`: the network can drive the loss of a tiny batch to nearly zero
  ({ref}`sec-overfit-batch`);
* :func:`lr_range_test`: the loss as the learning rate grows step by step
  ({ref}`sec-lr-range-test`);
* :func:`update_ratios` and :func:`layer_report`: the size of each update relative to the weights,
  and activations and gradients layer by layer ({ref}`sec-update-ratio`);
* :func:`dead_relu_share`: the share of ReLU units that never fire ({ref}`sec-dead-relu`);
* :func:`generalisation_gap`: test loss minus training loss ({ref}`sec-regularisation-compared`).

The checks that train (:func:`overfit_batch`, :func:`lr_range_test`, :func:`update_ratios`) train
a *copy* of the network, step by step in Python through :meth:`nnlib.MLP.loss_and_grads` and
:class:`nnlib.Adam` or :class:`nnlib.SGD`. So they leave the network as it was, and they exercise
whatever ``loss_and_grads`` computes, also in a subclass that overrides it. They call it without a
dropout mask, i.e. with dropout off: check the bare network first, regularise afterwards.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from . import losses
from ._validate import as_float_array, as_generator, check_int, check_name, check_positive, check_X, check_y
from .mlp import MLP
from .optim import SGD, Adam

__all__ = ["Standardiser", "standardiser", "InitialLoss", "expected_initial_loss", "check_initial_loss",
           "OverfitResult", "overfit_batch", "RangeTest", "lr_range_test", "update_ratios",
           "LayerReport", "layer_report", "dead_relu_share", "generalisation_gap"]


# ----------------------------------------------------------------- boundary checks
def _check_net(net: Any) -> MLP:
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an nnlib.MLP (or a subclass), got {type(net).__name__}")
    return net


def _check_data(net: MLP, X: Any, y: Any, loss: str) -> tuple[np.ndarray, np.ndarray, str]:
    """X, Y as float arrays that fit ``net``, and the canonical loss name (checked against the output)."""
    name = losses.canonical(loss)
    losses.check_pairing(name, net.output)
    X = check_X(X, net.sizes[0])
    Y = losses.check_targets(name, check_y(y, X.shape[0], net.sizes[-1]))
    return X, Y, name


def _optimizer(net: MLP, optimizer: str, lr: float) -> SGD | Adam:
    name = check_name(optimizer, ("sgd", "adam"), "optimizer")
    return SGD(net, lr=lr) if name == "sgd" else Adam(net, lr=lr)


# ----------------------------------------------------------------- data first
class Standardiser(NamedTuple):
    """x' = (x - mean) / scale, column by column, with ``mean`` and ``scale`` measured on the
    training set (chapter 12, {ref}`sec-data-first`). Call it on any set: ``s(X_test)``."""

    mean: np.ndarray   #: per-column mean of the training set (a constant column's value)
    scale: np.ndarray  #: per-column standard deviation of the training set (1 for a constant column)

    def __call__(self, X: Any) -> np.ndarray:
        X = as_float_array(X, "X")
        if X.ndim != 2 or X.shape[1] != self.mean.size:
            raise ValueError(f"X must have shape (N, {self.mean.size}) like the training set the "
                             f"standardiser was measured on, got shape {X.shape}")
        return (X - self.mean) / self.scale


def standardiser(X_train: Any) -> Standardiser:
    """The :class:`Standardiser` of a training set: mean_j = (1/N) sum_i x_ij and
    scale_j = sqrt((1/N) sum_i (x_ij - mean_j)^2), so that every column of the standardised
    training set has mean 0 and standard deviation 1. A constant column (all N values equal) gets
    mean_j = its value and scale_j = 1: it becomes exactly 0 and stays harmless, and other data
    move by their difference from that value, not by it divided by a rounding error. (Its
    floating-point std is often not 0: a column of 0.1 has std about 7e-17.) Measure it on the
    training set only and apply the same one to validation and test data.
    Chapter 12, {ref}`sec-data-first`.
    """
    X = as_float_array(X_train, "X_train")
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X_train must be 2-D (N, features) with at least 2 rows to measure a "
                         f"spread, got shape {X.shape}")
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    constant = np.ptp(X, axis=0) == 0
    mean[constant] = X[0, constant]
    scale[constant] = 1.0
    return Standardiser(mean, scale)


# ----------------------------------------------------------------- initial loss
class InitialLoss(NamedTuple):
    """The verdict of :func:`check_initial_loss` ({ref}`sec-initial-loss`)."""

    loss: float       #: the measured loss of the untrained network
    expected: float   #: ln C
    ok: bool          #: |loss - ln C| <= rtol * ln C


def expected_initial_loss(n_classes: int) -> float:
    """ln C: the cross-entropy of a network that gives each of C classes probability 1/C, since
    -ln(1/C) = ln C whatever the true class. For balanced classes it is also the loss of the best
    constant guess, so an untrained network should start near it. Chapter 12, {ref}`sec-initial-loss`.
    """
    return math.log(check_int(n_classes, "n_classes", minimum=2))


def check_initial_loss(net: MLP, X: Any, y: Any, loss: str = "cross_entropy",
                       rtol: float = 0.25) -> InitialLoss:
    """Compare the loss of ``net`` on (X, y) with ln C (:func:`expected_initial_loss`), where
    C = sizes[-1] for a softmax output with ``loss="cross_entropy"`` and C = 2 for one sigmoid
    output with ``loss="bce"``. ``ok`` is |L - ln C| <= rtol ln C.

    Small random logits raise the loss above ln C by a second-order amount. Softmax: with
    z_bar = (1/C) sum_k z_k, L = -z_y + ln sum_k e^{z_k} = ln C + (z_bar - z_y)
    + ln((1/C) sum_k e^{z_k - z_bar}) ~ ln C + (z_bar - z_y) + (1/(2C)) sum_k (z_k - z_bar)^2. For
    logits independent of the class, each with variance s^2 and independent of each other,
    E[z_bar - z_y] = 0 and E[(1/C) sum_k (z_k - z_bar)^2] = (1 - 1/C) s^2, so
    E[L] ~ ln C + s^2 (1 - 1/C) / 2 (0.45 s^2 for C = 10, s^2 / 4 for C = 2). One sigmoid output
    with binary cross-entropy: L = ln(1 + e^{-z}) = ln 2 - z/2 + z^2/8 + O(z^4) for y = 1 (z -> -z
    for y = 0), so E[L] ~ ln 2 + s^2 / 8. Both hold up to O(s^4) terms, which lower the excess: at
    s = 1 it is about 0.43 (C = 10), 0.21 (C = 2) and 0.11 (sigmoid). A loss far above ln C
    therefore means logits far larger than 1, i.e. an output scale that is too large (e.g. output
    weights ten times too big): confident and random before any training.
    Chapter 12, {ref}`sec-initial-loss`.
    """
    net = _check_net(net)
    X, Y, name = _check_data(net, X, y, loss)
    if name == "mse":
        raise ValueError("check_initial_loss() needs a classification loss: loss='cross_entropy' "
                         "with a softmax output or loss='bce' with one sigmoid output; got loss='mse'")
    rtol = check_positive(rtol, "rtol")
    n_classes = 2 if name == "bce" else net.sizes[-1]
    if name == "bce" and net.sizes[-1] != 1:
        raise ValueError(f"check_initial_loss() with loss='bce' expects one sigmoid output for two "
                         f"classes, got {net.sizes[-1]} outputs")
    value = net.loss(X, Y, loss=name)
    expected = expected_initial_loss(n_classes)
    return InitialLoss(value, expected, bool(abs(value - expected) <= rtol * expected))


# ----------------------------------------------------------------- overfit one batch
class OverfitResult(NamedTuple):
    """The record of :func:`overfit_batch` ({ref}`sec-overfit-batch`)."""

    losses: np.ndarray  #: the loss before each step, then the final loss (steps + 1 values)
    ok: bool            #: the final loss is below ``tol``


def overfit_batch(net: MLP, X: Any, y: Any, loss: str, steps: int = 300, lr: float = 0.01,
                  optimizer: str = "adam", tol: float = 0.01) -> OverfitResult:
    """Train a copy of ``net`` on the small batch (X, y) alone, full batch, for ``steps`` steps of
    ``optimizer`` ("adam" or "sgd") with learning rate ``lr``, through ``net.loss_and_grads``.

    A network with enough parameters can memorise a dozen examples, so the loss must fall to
    nearly zero (``ok``: final loss < ``tol``). If it does not, the gradient, the update or the
    data pipeline is broken; this check finds it in seconds, before any long run.
    ``net`` itself is not changed. Chapter 12, {ref}`sec-overfit-batch`.
    """
    net = _check_net(net)
    X, Y, name = _check_data(net, X, y, loss)
    steps = check_int(steps, "steps")
    tol = check_positive(tol, "tol")
    model = net.copy()
    opt = _optimizer(model, optimizer, check_positive(lr, "lr"))
    record = []
    with np.errstate(all="ignore"):
        for _ in range(steps):
            value, grads = model.loss_and_grads(X, Y, loss=name)
            record.append(value)
            if not math.isfinite(value):
                break
            opt.step(grads)
        else:
            record.append(model.loss(X, Y, loss=name) if np.all(np.isfinite(model.params)) else math.nan)
    final = record[-1]
    return OverfitResult(np.array(record), bool(math.isfinite(final) and final < tol))


# ----------------------------------------------------------------- learning-rate range test
class RangeTest(NamedTuple):
    """The record of :func:`lr_range_test` ({ref}`sec-lr-range-test`)."""

    lrs: np.ndarray        #: the learning rate of each step
    losses: np.ndarray     #: the mini-batch loss measured before each step
    smoothed: np.ndarray   #: its exponential moving average, bias-corrected
    best_lr: float         #: the learning rate at the lowest smoothed loss
    suggested: float       #: best_lr / 10


def lr_range_test(net: MLP, X: Any, y: Any, loss: str, lr_min: float = 1e-5, lr_max: float = 10.0,
                  steps: int = 100, batch_size: int = 32, optimizer: str = "sgd", beta: float = 0.9,
                  stop_factor: float = 4.0, seed: Any = 0) -> RangeTest:
    """The learning-rate range test (L. Smith, "Cyclical learning rates", 2017): train a copy of
    ``net`` for up to ``steps`` mini-batch steps while the learning rate grows geometrically,
    lr_k = lr_min (lr_max / lr_min)^(k / (steps - 1)), and record the loss before each step.

    The smoothed loss s_k = (beta m_{k-1} + (1 - beta) L_k) / (1 - beta^(k+1)) (an exponential
    moving average with bias correction) stays flat while lr is too small to matter, falls where
    lr is useful, and shoots up where lr is too large; the test stops once s_k exceeds
    ``stop_factor`` times its minimum (or the loss is not finite). ``suggested`` is one tenth of the
    lr at the lowest smoothed loss: safely on the falling slope. Mini-batches are drawn in an order
    shuffled by ``seed``. ``net`` itself is not changed. Chapter 12, {ref}`sec-lr-range-test`.
    """
    net = _check_net(net)
    X, Y, name = _check_data(net, X, y, loss)
    lr_min, lr_max = check_positive(lr_min, "lr_min"), check_positive(lr_max, "lr_max")
    if lr_max <= lr_min:
        raise ValueError(f"lr_max must be larger than lr_min, got lr_min={lr_min:g}, lr_max={lr_max:g}")
    steps = check_int(steps, "steps", minimum=2)
    batch = min(check_int(batch_size, "batch_size"), X.shape[0])
    if not 0.0 <= float(beta) < 1.0:
        raise ValueError(f"beta must lie in [0, 1), got {beta!r}")
    stop_factor = check_positive(stop_factor, "stop_factor")
    rng = as_generator(seed)
    model = net.copy()
    lrs = lr_min * (lr_max / lr_min) ** (np.arange(steps) / (steps - 1))
    opt = _optimizer(model, optimizer, float(lrs[0]))
    order = rng.permutation(X.shape[0])
    pos, avg, best = 0, 0.0, math.inf
    record, smooth = [], []
    with np.errstate(all="ignore"):
        for k, lr in enumerate(lrs):
            if pos + batch > X.shape[0]:
                order, pos = rng.permutation(X.shape[0]), 0
            rows = order[pos:pos + batch]
            pos += batch
            value, grads = model.loss_and_grads(X[rows], Y[rows], loss=name)
            if not math.isfinite(value):
                break
            avg = beta * avg + (1.0 - beta) * value
            s = avg / (1.0 - beta ** (k + 1))
            record.append(value)
            smooth.append(s)
            best = min(best, s)
            if s > stop_factor * best:
                break
            opt.lr = float(lr)
            opt.step(grads)
    n = len(record)
    if n == 0:
        raise ValueError(f"the loss was not finite at the first step (lr_min={lr_min:g}); check "
                         f"the inputs and the network before the range test")
    smoothed = np.array(smooth)
    best_lr = float(lrs[int(np.argmin(smoothed))])
    return RangeTest(lrs[:n].copy(), np.array(record), smoothed, best_lr, best_lr / 10.0)


# ----------------------------------------------------------------- inside the network
def update_ratios(net: MLP, X: Any, y: Any, loss: str, lr: float, optimizer: str = "sgd",
                  steps: int = 50, batch_size: int = 32, seed: Any = 0) -> np.ndarray:
    """Train a copy of ``net`` for ``steps`` mini-batch steps and return, for every step and
    every layer l, the update-to-weight ratio r_l = ||W_l' - W_l|| / ||W_l|| (Frobenius norms;
    W_l before the step, W_l' after it), as an array of shape (steps, L).

    Around 1e-3 is the usual healthy value (A. Karpathy, CS231n): much smaller and the layer
    barely learns, much larger (1e-1 and up) and each step rewrites a large part of the weights.
    Mini-batches are drawn in an order shuffled by ``seed``. ``net`` is not changed.
    Chapter 12, {ref}`sec-update-ratio`.
    """
    net = _check_net(net)
    X, Y, name = _check_data(net, X, y, loss)
    steps = check_int(steps, "steps")
    batch = min(check_int(batch_size, "batch_size"), X.shape[0])
    rng = as_generator(seed)
    model = net.copy()
    opt = _optimizer(model, optimizer, check_positive(lr, "lr"))
    ratios = np.empty((steps, len(model.layers)))
    order, pos = rng.permutation(X.shape[0]), 0
    for k in range(steps):
        if pos + batch > X.shape[0]:
            order, pos = rng.permutation(X.shape[0]), 0
        rows = order[pos:pos + batch]
        pos += batch
        before = [layer.W.copy() for layer in model.layers]
        _, grads = model.loss_and_grads(X[rows], Y[rows], loss=name)
        opt.step(grads)
        for l, (layer, W) in enumerate(zip(model.layers, before)):
            norm = np.linalg.norm(W)
            ratios[k, l] = np.linalg.norm(layer.W - W) / norm if norm > 0 else math.inf
    return ratios


class LayerReport(NamedTuple):
    """One layer as :func:`layer_report` sees it ({ref}`sec-update-ratio`)."""

    activation: str     #: the layer's activation function
    Z: np.ndarray       #: pre-activations Z_l (N, n_l)
    A: np.ndarray       #: activations A_l = f(Z_l) (N, n_l)
    dW: np.ndarray      #: the weight gradient dL/dW_l (n_{l-1}, n_l)
    saturated: float    #: tanh/sigmoid: share of activations within 0.03 of a limit; else nan
    dead: float         #: relu: share of units with Z_l <= 0 on every row of X; else nan


def _saturated(act: str, A: np.ndarray) -> float:
    if act == "tanh":
        return float(np.mean(np.abs(A) > 0.97))
    if act == "sigmoid":
        return float(np.mean((A < 0.03) | (A > 0.97)))
    return math.nan


def layer_report(net: MLP, X: Any, y: Any, loss: str) -> list[LayerReport]:
    """For every layer l = 1..L of ``net`` on (X, y): Z_l, A_l, dL/dW_l, the share of saturated
    activations (tanh: |a| > 0.97; sigmoid: a < 0.03 or a > 0.97; there f'(z) < 0.06, so little
    gradient passes) and, for ReLU, the share of dead units (see :func:`dead_relu_share`).
    The raw arrays are for histograms; healthy layers have activations spread over the
    function's range and gradients of similar size from layer to layer.
    Chapter 12, {ref}`sec-update-ratio` and {ref}`sec-dead-relu`.
    """
    net = _check_net(net)
    X, Y, name = _check_data(net, X, y, loss)
    zs, acts = net.forward_trace(X)
    _, grads = net.loss_and_grads(X, Y, loss=name)
    out = []
    for layer, Z, A, (dW, _) in zip(net.layers, zs, acts[1:], grads):
        dead = float(np.mean(Z.max(axis=0) <= 0.0)) if layer.activation == "relu" else math.nan
        out.append(LayerReport(layer.activation, Z, A, dW, _saturated(layer.activation, A), dead))
    return out


def dead_relu_share(net: MLP, X: Any) -> np.ndarray:
    """For each hidden layer of a ReLU network, the share of its units that are dead on X:
    unit j of layer l is dead when z_ij = (A_{l-1} W_l + b_l)_ij <= 0 for every row i, so its
    output and its gradient f'(z) are 0 on every example and gradient descent can never revive
    it through this data. Returns an array with one share per hidden layer.
    Chapter 12, {ref}`sec-dead-relu`.
    """
    net = _check_net(net)
    if net.hidden != "relu":
        raise ValueError(f"dead_relu_share() needs a network with hidden='relu', got "
                         f"hidden={net.hidden!r} (only ReLU units output exactly 0 for every "
                         f"negative input)")
    X = check_X(X, net.sizes[0])
    zs, _ = net.forward_trace(X)
    return np.array([float(np.mean(Z.max(axis=0) <= 0.0)) for Z in zs[:-1]])


# ----------------------------------------------------------------- generalisation
def generalisation_gap(net: MLP, X_train: Any, y_train: Any, X_test: Any, y_test: Any,
                       loss: str) -> float:
    """L_test - L_train: the loss on held-out data minus the loss on the training data (plain
    loss, no penalty; dropout off, as in :meth:`nnlib.MLP.loss`). Large and growing means the
    network memorises its training set. Chapter 12, {ref}`sec-regularisation-compared`.
    """
    net = _check_net(net)
    Xtr, Ytr, name = _check_data(net, X_train, y_train, loss)
    Xte = check_X(X_test, net.sizes[0], name="X_test")
    Yte = losses.check_targets(name, check_y(y_test, Xte.shape[0], net.sizes[-1], name="y_test",
                                             x_name="X_test"), name="y_test")
    return net.loss(Xte, Yte, loss=name) - net.loss(Xtr, Ytr, loss=name)
