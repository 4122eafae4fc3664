"""Compiled kernels: the forward and backward pass of a whole MLP over flat buffers.

Every function here is a plain ``@njit(cache=True)`` function over C-contiguous float64 arrays
(and int64 arrays of layer sizes and codes). The classes in :mod:`nnlib.mlp` and
:mod:`nnlib.layers` are thin wrappers around them. With ``NUMBA_DISABLE_JIT=1`` they run as plain
Python/NumPy and give the same numbers. The small helpers are marked ``inline="always"``: Numba
copies them into their callers, so a tiny network (XOR's 2-4-1) pays no function-call overhead.
:func:`forward` and :func:`backward` are not: inlining them too into the training loop made an
XOR epoch faster (0.56 -> 0.46 us CPU) but the first compile longer (+0.5 s for ``fit``, and a
first ``predict`` after it then compiles its own ``forward``, +1 s), a trade measured and declined
(issue 14): a learner waits for the compile, not for 0.1 us per epoch.

Layout (shared by every kernel)::

    sizes   int64 (L+1,): layer widths n_0, ..., n_L.
    acts    int64 (L,): activation code of layers 1..L (nnlib.activations.CODES).
    params  float64 (P,): W_1, b_1, W_2, b_2, ... one after another; W_l is
            params[o:o + n_{l-1} n_l].reshape(n_{l-1}, n_l), b_l follows it.
    zbuf, abuf, dbuf
            float64 (R * (n_1 + ... + n_L),): Z_l, A_l and delta_l for a batch of up to
            R rows; layer l starts at R * (n_1 + ... + n_{l-1}).
    keep    float64 (L,): 1 - p_l, the keep probability of inverted dropout in layer l (1: none).
    mbuf    zbuf's layout: the dropout mask M_l = m_l / (1 - p_l) of the layers with keep < 1;
            empty (length 0): no dropout (inference, or a network without it).

Every float array may also be float32 (``MLP(..., dtype="float32")``): Numba compiles a float32
version on first use; matrix products then run in float32 (BLAS sgemm), and sums (the loss) are
accumulated in float64.

Activation and loss codes come from :mod:`nnlib.activations` and :mod:`nnlib.losses`, which own
them; ``view2d`` (a matrix view of a block of a flat buffer) is low-level plumbing in ``_view``.

The mathematics is derived in chapter 5, *Forward propagation* ({ref}`sec-forward-batch`), and
chapter 6, *Backpropagation* ({ref}`sec-backprop-vectorised`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numba import njit

from ._view import view1d, view2d
from .activations import IDENTITY, RELU, SIGMOID, SOFTMAX, TANH
from .losses import BCE, CROSS_ENTROPY, MSE

# Below this many multiply-adds a product is done with loops (BLAS call overhead dominates).
_SMALL = 8192
# Below this many columns of the result, the loops sum each entry in a register (same order of
# additions, so the same numbers); above it, they run along rows (vectorisable).
_NARROW = 4


def variant(acts: Sequence[int], dropout: bool, sizes: Sequence[int]) -> tuple[bool | None, ...]:
    """The compile-time variant of :func:`forward` and :func:`backward` for a network with
    activation codes ``acts`` and layer widths ``sizes``, with or without ``dropout`` masks in this
    call: (use_sigmoid, use_tanh, use_relu, use_softmax, use_dropout, use_rows), each True, or None
    when the network has no such layer (no masks: use_dropout None; no layer wider than
    ``_NARROW`` units: use_rows None, the small products then have one loop path, see
    :func:`matmul`). Numba prunes a branch on ``x is None`` when x is an
    argument (also inside the inlined helpers), so a call compiles only the activations its
    network has (identity is always there: it costs nothing), and the masking loops only with
    masks. Each pattern of None is a separate compile (and cache entry); all give the same
    numbers. A first ``fit`` of XOR's 2-4-1 thus compiles tanh and sigmoid only (issue 14). The
    BLAS call of :func:`matmul` is not pruned for tiny products: that saved at most 0.3 s of a
    first fit but cost ~1 s more on a first ``predict`` of many rows, which then compiled
    ``forward`` again. The formulas are those of chapter 5 ({ref}`sec-forward-batch`) and
    chapter 6 ({ref}`sec-backprop-vectorised`)."""
    used = {int(a) for a in acts}
    wide = any(int(n) > _NARROW for n in list(sizes)[1:])
    return tuple(True if c in used else None for c in (SIGMOID, TANH, RELU, SOFTMAX)) + (
        True if dropout else None, True if wide else None)


#: The variants that compile everything (what nnlib.warmup() compiles).
GENERIC: tuple[bool | None, ...] = (True,) * 6
GENERIC_LOSS: tuple[bool | None, ...] = (True,) * 3


def loss_variant(code: int) -> tuple[bool | None, bool | None, bool | None]:
    """(use_mse, use_bce, use_ce) for :func:`backward`: True for the loss ``code`` only, so that a
    ``fit`` compiles one loss formula, not three (the formulas: chapter 6, {ref}`sec-delta`)."""
    return tuple(True if code == c else None for c in (MSE, BCE, CROSS_ENTROPY))  # type: ignore


@njit(cache=True, inline="always")
def sigmoid_scalar(z):
    """sigma(z) = 1 / (1 + e^{-z}), stable: for z < 0 use e^z / (1 + e^z).

    Derived in chapter 5, *Forward propagation* ({ref}`sec-stable-sigmoid-softmax`).
    """
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(cache=True, inline="always")
def tanh_scalar(z):
    """tanh(z) = sign(z) (1 - e^{-2|z|}) / (1 + e^{-2|z|}) (never overflows).

    Derived in chapter 5, *Forward propagation* ({ref}`sec-stable-sigmoid-softmax`).
    """
    e = math.exp(-2.0 * abs(z))
    t = (1.0 - e) / (1.0 + e)
    return t if z >= 0.0 else -t


@njit(cache=True, inline="always")
def activate(Z, A, code, use_sigmoid=True, use_tanh=True, use_relu=True, use_softmax=True):
    """A = f(Z) elementwise (row-wise softmax for ``SOFTMAX``: A_ik = e^{Z_ik - max_j Z_ij} / sum_j ...).

    ``use_*`` = None leaves that activation out of the compiled code (see :func:`variant`).
    Derived in chapter 2, *The neuron* ({ref}`sec-activations`) and chapter 5
    ({ref}`sec-stable-sigmoid-softmax`).
    """
    n, k = Z.shape
    if use_softmax is not None and code == SOFTMAX:
        for i in range(n):
            m = Z[i, 0]
            for j in range(1, k):
                if Z[i, j] > m:
                    m = Z[i, j]
            s = 0.0
            for j in range(k):
                e = math.exp(Z[i, j] - m)
                A[i, j] = e
                s += e
            for j in range(k):
                A[i, j] /= s
        return
    for i in range(n):
        for j in range(k):
            z = Z[i, j]
            if use_sigmoid is not None and code == SIGMOID:
                A[i, j] = sigmoid_scalar(z)
            elif use_tanh is not None and code == TANH:
                A[i, j] = tanh_scalar(z)
            elif use_relu is not None and code == RELU:
                A[i, j] = z if z > 0.0 else 0.0
            else:                           # IDENTITY
                A[i, j] = z


@njit(cache=True, inline="always")
def activation_backward(G, Z, A, code, use_sigmoid=True, use_tanh=True, use_relu=True,
                        use_softmax=True):
    """In place G <- dL/dZ from G = dL/dA: G * f'(Z) (sigma' = A(1-A), tanh' = 1-A^2, relu' = [A>0],
    i.e. [Z>0]: every derivative is read from A alone);
    softmax: G_i <- A_i * (G_i - sum_j G_ij A_ij) (Jacobian-vector product).
    ``use_*`` = None leaves that activation out of the compiled code (see :func:`variant`).

    Derived in chapter 6, *Backpropagation* ({ref}`sec-delta`).
    """
    n, k = Z.shape
    if use_softmax is not None and code == SOFTMAX:
        for i in range(n):
            s = 0.0
            for j in range(k):
                s += G[i, j] * A[i, j]
            for j in range(k):
                G[i, j] = A[i, j] * (G[i, j] - s)
        return
    if code == IDENTITY:
        return
    for i in range(n):
        for j in range(k):
            if use_sigmoid is not None and code == SIGMOID:
                G[i, j] *= A[i, j] * (1.0 - A[i, j])
            elif use_tanh is not None and code == TANH:
                G[i, j] *= 1.0 - A[i, j] * A[i, j]
            elif use_relu is not None and A[i, j] <= 0.0:   # relu: A = max(Z, 0) > 0 exactly
                G[i, j] = 0.0                                  # when Z > 0


@njit(cache=True, inline="always")
def matmul(A, B, C, use_rows=True):
    """C = A @ B for A (n, k), B (k, m): C_ij = sum_p A_ip B_pj (loops when small, BLAS otherwise;
    chapter 3, {ref}`sec-layer-matrix`). ``use_rows`` = None: small products always sum each C_ij
    in a register (the other loop path, along rows, is not compiled: the same numbers; it is
    faster only for more than ``_NARROW`` columns, so :func:`variant` leaves it out of networks
    with no wider layer, e.g. XOR's 2-4-1: -0.3 to -0.5 s of its first compile, issue 14)."""
    n, k = A.shape
    m = B.shape[1]
    if n * k * m > _SMALL:
        np.dot(A, B, C)
        return
    if use_rows is None or m <= _NARROW:   # few columns (XOR's 2-4-1): sum C_ij in a register
        for i in range(n):
            for j in range(m):
                s = C.dtype.type(0.0)
                for p in range(k):
                    s += A[i, p] * B[p, j]
                C[i, j] = s
        return
    for i in range(n):
        for j in range(m):
            C[i, j] = 0.0
        for p in range(k):
            a = A[i, p]
            for j in range(m):
                C[i, j] += a * B[p, j]


@njit(cache=True, inline="always")
def matmul_tn(A, B, C, use_rows=True):
    """C = A.T @ B for A (n, k), B (n, m) -> C (k, m): C_pj = sum_i A_ip B_ij, as in
    dW = A_{l-1}^T delta_l (chapter 6, {ref}`sec-backprop-vectorised`); ``use_rows`` as in
    :func:`matmul`."""
    n, k = A.shape
    m = B.shape[1]
    if n * k * m > _SMALL:
        np.dot(A.T, B, C)
        return
    if use_rows is None or m <= _NARROW:
        for p in range(k):
            for j in range(m):
                s = C.dtype.type(0.0)
                for i in range(n):
                    s += A[i, p] * B[i, j]
                C[p, j] = s
        return
    for p in range(k):
        for j in range(m):
            C[p, j] = 0.0
    for i in range(n):
        for p in range(k):
            a = A[i, p]
            for j in range(m):
                C[p, j] += a * B[i, j]


@njit(cache=True, inline="always")
def matmul_nt(A, B, C):
    """C = A @ B.T for A (n, m), B (k, m) -> C (n, k): C_ip = sum_j A_ij B_pj, as in
    delta_{l+1} W_{l+1}^T (chapter 6, {ref}`sec-backprop-vectorised`)."""
    n, m = A.shape
    k = B.shape[0]
    if n * k * m > _SMALL:
        np.dot(A, B.T, C)
        return
    for i in range(n):
        for p in range(k):
            s = 0.0
            for j in range(m):
                s += A[i, j] * B[p, j]
            C[i, p] = s


@njit(cache=True, inline="always")
def dense_forward(X, W, b, code, Z, A, use_sigmoid=True, use_tanh=True, use_relu=True,
                  use_softmax=True, use_rows=True):
    """Z = X W + b, A = f(Z) for one dense layer on a batch X (N, n_in); ``use_*`` as in
    :func:`activate` and :func:`matmul`.

    Derived in chapter 3, *Layers* ({ref}`sec-layer-matrix`).
    """
    matmul(X, W, Z, use_rows)
    n, k = Z.shape
    for i in range(n):
        for j in range(k):
            Z[i, j] += b[j]
    activate(Z, A, code, use_sigmoid, use_tanh, use_relu, use_softmax)


@njit(cache=True, inline="always")
def dense_backward(X, delta, dW, db, use_rows=True):
    """dW = X.T delta, db = sum_rows delta, given delta = dL/dZ (the input gradient
    dX = delta W.T is :func:`matmul_nt`).

    Derived in chapter 6, *Backpropagation* ({ref}`sec-backprop-vectorised`).
    """
    matmul_tn(X, delta, dW, use_rows)
    n, k = delta.shape
    for j in range(k):
        db[j] = 0.0
    for i in range(n):
        for j in range(k):
            db[j] += delta[i, j]


@njit(cache=True)
def forward(params, sizes, acts, X, R, zbuf, abuf, keep, mbuf, use_sigmoid=True, use_tanh=True,
            use_relu=True, use_softmax=True, use_dropout=True, use_rows=True):
    """Forward pass of the whole network on X (n <= R rows): Z_l = A_{l-1} W_l + b_l, A_l = f_l(Z_l).

    Inverted dropout when ``mbuf`` is not empty: for every hidden layer l with keep probability
    ``keep[l-1]`` = 1 - p_l < 1, the next layer reads A~_l = M_l * A_l, where ``mbuf`` (zbuf's
    layout) holds M_l = m_l / (1 - p_l), m_l in {0, 1}. A~_l is written over Z_l (the backward
    pass needs only A_l of a hidden layer: every f' is read from A), so ``abuf`` keeps A_l.
    ``use_*``: the compile-time variant (:func:`variant`); the defaults compile everything.
    Derived in chapter 5, *Forward propagation* ({ref}`sec-forward-batch`); dropout in chapter 12
    ({ref}`sec-dropout`).
    """
    n = X.shape[0]
    po = np.int64(0)  # typed int64, not the literal 0 (which would compile view2d twice)
    zo = np.int64(0)
    dropping = mbuf.shape[0] > 0
    A_prev = X
    for l in range(1, sizes.shape[0]):
        n_in, n_out = sizes[l - 1], sizes[l]
        W = view2d(params, po, n_in, n_out)
        b = view1d(params, po + n_in * n_out, n_out)
        Z = view2d(zbuf, zo, n, n_out)
        A = view2d(abuf, zo, n, n_out)
        dense_forward(A_prev, W, b, acts[l - 1], Z, A, use_sigmoid, use_tanh, use_relu, use_softmax,
                      use_rows)
        A_prev = A
        if use_dropout is not None and dropping and keep[l - 1] < 1.0:
            M = view2d(mbuf, zo, n, n_out)
            for i in range(n):
                for j in range(n_out):
                    Z[i, j] = A[i, j] * M[i, j]
            A_prev = Z
        po += n_in * n_out + n_out
        zo += R * n_out


@njit(cache=True, inline="always")
def output_offset(sizes, R):
    """Offset R (n_1 + ... + n_{L-1}) of the last layer's block in zbuf/abuf/dbuf (layout in the
    module docstring; chapter 5, {ref}`sec-forward-batch`)."""
    zo = 0
    for l in range(1, sizes.shape[0] - 1):
        zo += R * sizes[l]
    return zo


@njit(cache=True, inline="always")
def loss_and_delta(code, Z, A, Y, D, use_mse=True, use_bce=True, use_ce=True):
    """Return the mean loss and write into D: dL/dA for mse, dL/dZ (= delta_L) for bce and
    cross_entropy (the output layer's f' cancels there).

    mse: L = sum (A-Y)^2 / (N K), dL/dA = 2 (A-Y)/(N K) (then times f'(Z) in :func:`backward`);
    bce (sigmoid): L = mean[max(z,0) - z y + log(1 + e^{-|z|})] (from logits), delta = (A-Y)/(N K);
    cross_entropy (softmax): L = -sum y (z - logsumexp z) / N, delta = (A-Y)/N.
    ``use_mse``, ``use_bce``, ``use_ce`` = None leave that loss out of the compiled code
    (:func:`loss_variant`); a ``code`` left out is an error.
    Derived in chapter 6, *Backpropagation* ({ref}`sec-delta`).
    """
    n, k = A.shape
    total = 0.0
    if use_mse is not None and code == MSE:
        scale = 2.0 / (n * k)
        for i in range(n):
            for j in range(k):
                d = A[i, j] - Y[i, j]
                total += d * d
                D[i, j] = scale * d
        return total / (n * k)
    if use_bce is not None and code == BCE:
        for i in range(n):
            for j in range(k):
                z = Z[i, j]
                total += max(z, 0.0) - z * Y[i, j] + math.log1p(math.exp(-abs(z)))
                D[i, j] = (A[i, j] - Y[i, j]) / (n * k)
        return total / (n * k)
    if use_ce is None:      # a code left out of the compiled variant (callers never pass one)
        return math.nan
    for i in range(n):
        m = Z[i, 0]
        for j in range(1, k):
            if Z[i, j] > m:
                m = Z[i, j]
        s = 0.0
        for j in range(k):
            s += math.exp(Z[i, j] - m)
        lse = m + math.log(s)
        for j in range(k):
            total -= Y[i, j] * (Z[i, j] - lse)
            D[i, j] = (A[i, j] - Y[i, j]) / n
    return total / n


@njit(cache=True)
def loss_only(code, Z, A, Y):
    """The mean loss of outputs (Z, A) against Y, same formulas as :func:`loss_and_delta`
    (chapter 6, {ref}`sec-delta`)."""
    D = np.empty_like(A)
    return loss_and_delta(code, Z, A, Y, D)


@njit(cache=True)
def backward(params, sizes, acts, loss_code, X, Y, R, zbuf, abuf, dbuf, grads, keep, mbuf,
             use_sigmoid=True, use_tanh=True, use_relu=True, use_softmax=True, use_dropout=True,
             use_rows=True, use_mse=True, use_bce=True, use_ce=True):
    """Backpropagation after :func:`forward`; writes dW_l, db_l into ``grads`` and returns the loss.

    delta_L = dL/dZ_L; delta_l = (delta_{l+1} W_{l+1}^T) * f'(Z_l); dW_l = A_{l-1}^T delta_l;
    db_l = sum over rows of delta_l. Gradients are overwritten, never accumulated.
    With inverted dropout (same ``keep``, ``mbuf`` as :func:`forward`): dW_{l+1} = A~_l^T delta_{l+1}
    and delta_l = (delta_{l+1} W_{l+1}^T) * M_l * f'(Z_l), M_l = m_l / (1 - p_l) (the same mask).
    ``use_*``: the compile-time variant (:func:`variant`, :func:`loss_variant`); the defaults
    compile everything.
    Derived in chapter 6, *Backpropagation* ({ref}`sec-backprop-vectorised`); dropout in chapter 12
    ({ref}`sec-dropout`).
    """
    n = X.shape[0]
    L = sizes.shape[0] - 1
    zo = output_offset(sizes, R)
    po = params.shape[0]
    k = sizes[L]
    dropping = mbuf.shape[0] > 0
    Z, A, D = view2d(zbuf, zo, n, k), view2d(abuf, zo, n, k), view2d(dbuf, zo, n, k)
    loss = loss_and_delta(loss_code, Z, A, Y, D, use_mse, use_bce, use_ce)
    for l in range(L, 0, -1):
        n_in, n_out = sizes[l - 1], sizes[l]
        po -= n_in * n_out + n_out
        W = view2d(params, po, n_in, n_out)
        dW = view2d(grads, po, n_in, n_out)
        db = view1d(grads, po + n_in * n_out, n_out)
        delta = view2d(dbuf, zo, n, n_out)
        # delta holds dL/dA_l (from mse at the output, from layer l+1 below it): times f'_l, read
        # from A_l (one call site: each inlined copy costs compile time). bce and cross_entropy
        # give dL/dZ_L directly.
        if l < L or loss_code == MSE:
            A_l = view2d(abuf, zo, n, n_out)
            activation_backward(delta, A_l, A_l, acts[l - 1], use_sigmoid, use_tanh, use_relu,
                                use_softmax)
        # the layer's input: X, A_{l-1}, or the thinned A~_{l-1} (held in Z_{l-1}) with dropout;
        # one call site of dense_backward (each inlined copy costs compile time)
        zo_prev = zo - R * n_in
        A_in = X
        dropped = False
        if l > 1:
            dropped = dropping and keep[l - 2] < 1.0
            A_in = view2d(zbuf if dropped else abuf, zo_prev, n, n_in)
        dense_backward(A_in, delta, dW, db, use_rows)
        if l > 1:
            D_prev = view2d(dbuf, zo_prev, n, n_in)
            matmul_nt(delta, W, D_prev)
            if use_dropout is not None and dropped:
                M = view2d(mbuf, zo_prev, n, n_in)
                for i in range(n):
                    for j in range(n_in):
                        D_prev[i, j] *= M[i, j]
            zo = zo_prev
    return loss
