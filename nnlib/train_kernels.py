"""Compiled optimiser updates and the whole training loop (many epochs in one compiled call).

Buffers share the flat parameter layout of :mod:`nnlib.kernels`: gradients, momentum velocity and
Adam's moments are arrays of the same length as ``params``, so each update is one fused loop.
Derived in chapter 7, *Gradient descent* ({ref}`sec-momentum`) and chapter 9 ({ref}`sec-l2`,
{ref}`sec-early-stopping`).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._view import view2d
from .kernels import backward, forward, loss_only, output_offset
from .train import DIVERGED, OK


@njit(cache=True, inline="always")
def sgd_step(params, grads, velocity, decay_mask, lr, momentum, weight_decay):
    """g = grad + lam * W (weights only); v = mu v + g; p -= lr v  (PyTorch convention).

    Derived in chapter 7, *Gradient descent* ({ref}`sec-momentum`) and chapter 9 ({ref}`sec-l2`).
    """
    if weight_decay == 0.0:          # the common case, without reading decay_mask (same numbers)
        if momentum != 0.0:
            for i in range(params.shape[0]):
                velocity[i] = momentum * velocity[i] + grads[i]
                params[i] -= lr * velocity[i]
        else:
            for i in range(params.shape[0]):
                params[i] -= lr * grads[i]
        return
    for i in range(params.shape[0]):
        g = grads[i] + weight_decay * decay_mask[i] * params[i]
        if momentum != 0.0:
            velocity[i] = momentum * velocity[i] + g
            g = velocity[i]
        params[i] -= lr * g


@njit(cache=True)
def adam_step(params, grads, m, v, decay_mask, t, lr, beta1, beta2, eps, weight_decay):
    """Adam step t (1-based): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).

    Derived in chapter 7, *Gradient descent* ({ref}`sec-adam`).
    """
    c1 = 1.0 - math.pow(beta1, t)
    c2 = 1.0 - math.pow(beta2, t)
    for i in range(params.shape[0]):
        g = grads[i] + weight_decay * decay_mask[i] * params[i]
        m[i] = beta1 * m[i] + (1.0 - beta1) * g
        v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
        params[i] -= lr * (m[i] / c1) / (math.sqrt(v[i] / c2) + eps)


@njit(cache=True, inline="always")
def uniform01(state):
    """The next number of a SplitMix64 stream, as a float64 uniform on [0, 1) with 53 random bits:
    s += 0x9E3779B97F4A7C15, then two xor-shift-multiply rounds of s (Steele, Lea and Flood 2014).
    ``state`` is a uint64 array (1,), advanced in place; ``fit`` seeds it from the network's
    generator. Used for the dropout masks (chapter 12, {ref}`sec-dropout`)."""
    s = state[0] + np.uint64(0x9E3779B97F4A7C15)
    state[0] = s
    z = (s ^ (s >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def draw_masks(sizes, keep, R, b, mbuf, state):
    """Inverted dropout masks for one mini-batch of b rows: for every hidden layer l with
    keep probability q_l = 1 - p_l < 1, M_l[i, j] = m / q_l with m ~ Bernoulli(q_l) (m = 1 when
    u < q_l, u uniform on [0, 1) from :func:`uniform01`), written into ``mbuf`` (zbuf's layout for
    batches of up to R rows). Derived in chapter 12 ({ref}`sec-dropout`)."""
    zo = 0
    for l in range(1, sizes.shape[0] - 1):
        n = sizes[l]
        q = keep[l - 1]
        if q < 1.0:
            scale = 1.0 / q
            for r in range(b * n):
                mbuf[zo + r] = scale if uniform01(state) < q else 0.0
        zo += R * n


@njit(cache=True, inline="always")
def gather_rows(X, Y, perms, e, start, stop, xb, yb):
    """xb[r] = X[perms[e, start + r]], yb[r] = Y[...] for the rows of one mini-batch of epoch e
    (chapter 7, {ref}`sec-batch-sizes`)."""
    for r in range(stop - start):
        i = perms[e, start + r]
        for j in range(X.shape[1]):
            xb[r, j] = X[i, j]
        for j in range(Y.shape[1]):
            yb[r, j] = Y[i, j]


@njit(cache=True, inline="always")
def count_correct(A, Y):
    """Number of rows predicted right: argmax for K > 1 outputs, class 1 when A >= 0.5 for one unit.

    Derived in chapter 8, *A complete MLP* ({ref}`sec-mlp-nnlib`).
    """
    n, k = A.shape
    c = 0
    for i in range(n):
        if k == 1:
            if (A[i, 0] >= 0.5) == (Y[i, 0] >= 0.5):
                c += 1
        else:
            ja = 0
            jy = 0
            for j in range(1, k):
                if A[i, j] > A[i, ja]:
                    ja = j
                if Y[i, j] > Y[i, jy]:
                    jy = j
            if ja == jy:
                c += 1
    return c


@njit(cache=True)
def evaluate(params, sizes, acts, loss_code, X, Y, zbuf, abuf, keep, mbuf, kinds):
    """Return (mean loss, accuracy) of the network on (X, Y); buffers hold X.shape[0] rows; an
    empty ``mbuf``: no dropout; ``kinds``: the variant of :func:`~nnlib.kernels.forward` (that of
    the training loop: one compile serves both). Chapter 7, {ref}`sec-when-to-stop`."""
    n = X.shape[0]
    sg, th, rl, sm, dr, rw = kinds
    forward(params, sizes, acts, X, n, zbuf, abuf, keep, mbuf, sg, th, rl, sm, dr, rw)
    zo = output_offset(sizes, n)
    k = sizes[sizes.shape[0] - 1]
    A = view2d(abuf, zo, n, k)
    loss = loss_only(loss_code, view2d(zbuf, zo, n, k), A, Y)
    return loss, count_correct(A, Y) / n


@njit(cache=True)
def train_epochs(net, data, perms, plan, opt, work, progress, adam, masks, kinds, losses):
    """Run ``perms.shape[0]`` epochs of mini-batch training in one call.

    For each epoch e and each mini-batch B (rows ``perms[e]`` in order): forward, backprop, then an
    SGD-with-momentum or Adam step. With dropout (``masks`` not None) each batch first draws
    fresh masks (:func:`draw_masks`, from ``masks`` = ``progress.rng_state``). The arguments are the named
    records of :mod:`nnlib.train`: ``net`` (:class:`~nnlib.train.Network`: params, sizes,
    activation codes, decay mask, keep probabilities), ``data`` (X, Y), ``plan`` (loss code, batch,
    in_order), ``opt`` (:class:`nnlib.optim.Settings`), ``work`` (scratch buffers) and
    ``progress`` (optimiser state, ``counters`` = [adam step t, epochs done],
    ``hist[e, :2]`` = [train loss, train accuracy]). ``adam`` is Adam's second-moment buffer, or
    None for SGD; ``masks`` the dropout stream's state, or None without dropout: each pattern of
    None is a separate compiled variant (Numba prunes the ``is None`` branch), so a first ``fit``
    compiles only what it uses; likewise ``kinds`` (the activations, dropout and loop paths,
    :func:`nnlib.kernels.variant`) and ``losses`` (the loss, :func:`nnlib.kernels.loss_variant`),
    tuples of True and None passed on to :func:`~nnlib.kernels.forward` and
    :func:`~nnlib.kernels.backward`. The train values are the batch-size-weighted
    means over the epoch's batches (each measured before its update). The validation pass and
    early stopping are done by :func:`nnlib.fit` between calls (with :func:`evaluate`).
    Returns (status, epoch index) with status OK or DIVERGED (loss not finite).
    Derived in chapter 7 ({ref}`sec-batch-sizes`) and chapter 9 ({ref}`sec-early-stopping`).
    """
    params, sizes, acts, keep = net.params, net.sizes, net.acts, net.keep
    X, Y = data.X, data.Y
    batch = plan.batch
    zbuf, abuf, dbuf, grads, mbuf = work.zbuf, work.abuf, work.dbuf, work.grads, work.mbuf
    counters, hist = progress.counters, progress.hist
    # (a call f(..., *kinds) would build a tuple of all the arguments at run time: +0.1 us per
    # XOR epoch, measured; unpacked once here, the flags are passed as they are)
    sg, th, rl, sm, dr, rw = kinds
    mse, bce, ce = losses
    N = X.shape[0]
    L = sizes.shape[0] - 1
    zo = output_offset(sizes, batch)
    for e in range(perms.shape[0]):
        total = 0.0
        correct = 0
        for start in range(0, N, batch):
            stop = min(start + batch, N)
            b = stop - start
            if plan.in_order:                # full batch, unshuffled: use the data as it is
                xb = X
                yb = Y
            else:
                xb = view2d(work.xbuf, 0, b, X.shape[1])
                yb = view2d(work.ybuf, 0, b, Y.shape[1])
                gather_rows(X, Y, perms, e, start, stop, xb, yb)
            if masks is not None:
                draw_masks(sizes, keep, batch, b, mbuf, masks)
            forward(params, sizes, acts, xb, batch, zbuf, abuf, keep, mbuf, sg, th, rl, sm, dr, rw)
            loss = backward(params, sizes, acts, plan.loss, xb, yb, batch, zbuf, abuf, dbuf, grads,
                            keep, mbuf, sg, th, rl, sm, dr, rw, mse, bce, ce)
            if not math.isfinite(loss):
                return DIVERGED, e
            total += loss * b
            correct += count_correct(view2d(abuf, zo, b, sizes[L]), yb)
            if adam is None:
                sgd_step(params, grads, progress.state1, net.decay_mask, opt.lr, opt.momentum,
                         opt.weight_decay)
            else:
                counters[0] += 1
                adam_step(params, grads, progress.state1, adam, net.decay_mask,
                          counters[0], opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weight_decay)
        hist[e, 0] = total / N
        hist[e, 1] = correct / N
        counters[1] += 1
    return OK, perms.shape[0] - 1
