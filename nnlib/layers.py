"""Dense (fully connected) layers: Z = X W + b, A = f(Z), and how their weights start.

Two classes share the mathematics (the compiled :func:`nnlib.kernels.dense_forward`):

* :class:`Dense`, the standalone layer the chapters build by hand: it owns and initialises its
  W and b, caches its inputs in ``forward`` and has a ``backward`` pass.
* :class:`Layer`, one layer of an :class:`~nnlib.MLP` as seen through the network's flat parameter
  buffer: W and b are views into ``net.params``, initialised by the MLP, never by the layer; it
  offers the same ``forward``/``backward`` as Dense, and ``apply``, which caches nothing.

This module also owns the initialisation concept: the rule names, the default per activation and
the draw itself (:func:`init_weights`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._lazy import kernels as K
from ._validate import as_float_array, as_generator, check_int, check_name, check_X
from .activations import CODES, check_output

INITS: tuple[str, ...] = ("xavier", "he")


def default_init(activation: str) -> str:
    """"he" for relu, "xavier" otherwise: keep Var(z) of every layer near that of its inputs for
    that activation (chapter 6, {ref}`sec-initialisation`)."""
    return "he" if activation == "relu" else "xavier"


def check_init(init: Any, activation: str) -> str:
    """The initialisation rule: ``init`` if it is one of INITS, the default for ``activation`` if None
    (:func:`default_init`; chapter 6, {ref}`sec-initialisation`)."""
    return default_init(activation) if init is None else check_name(init, INITS, "init")


def init_weights(W: np.ndarray, method: str, rng: np.random.Generator) -> None:
    """Fill W (n_in, n_out) in place.

    xavier (Glorot uniform): W ~ U(-a, a), a = sqrt(6 / (n_in + n_out)), so that
    Var(W) = 2 / (n_in + n_out);
    he (normal): W ~ N(0, 2 / n_in).
    Derived in chapter 6, *Backpropagation* ({ref}`sec-initialisation`).
    """
    n_in, n_out = W.shape
    if method == "xavier":
        a = np.sqrt(6.0 / (n_in + n_out))
        W[...] = rng.uniform(-a, a, size=(n_in, n_out))
    else:
        W[...] = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


def _apply(X: np.ndarray, W: np.ndarray, b: np.ndarray, code: int) -> tuple[np.ndarray, np.ndarray]:
    X = X.astype(W.dtype, copy=False)      # a float32 network computes in float32
    Z = np.empty((X.shape[0], W.shape[1]), W.dtype)
    A = np.empty_like(Z)
    K.dense_forward(X, W, b, code, Z, A)
    return Z, A


# The layer behaviour both classes share, written once: forward with a cache, backward from it.
def _forward(layer: Dense | Layer, X: Any) -> np.ndarray:
    X = check_X(X, layer.n_in)
    layer.Z, layer.A = _apply(X, layer.W, layer.b, layer.code)
    layer.X = X.astype(layer.W.dtype, copy=False)
    return layer.A


def _backward(layer: Dense | Layer, dA: Any) -> np.ndarray:
    if layer.A is None:
        raise RuntimeError("call forward(X) before backward(dA)")
    delta = as_float_array(dA, "dA").astype(layer.W.dtype)
    if delta.shape != layer.A.shape:
        raise ValueError(f"dA must have the shape of the layer output {layer.A.shape}, got "
                         f"{delta.shape}")
    K.activation_backward(delta, layer.Z, layer.A, layer.code)
    layer.dW = np.empty_like(layer.W)
    layer.db = np.empty_like(layer.b)
    dX = np.empty_like(layer.X)
    K.dense_backward(layer.X, delta, layer.dW, layer.db)
    K.matmul_nt(delta, layer.W, dX)
    return dX


class Layer:
    """Layer l of an MLP: Z_l = A_{l-1} W_l + b_l (N, n_out), A_l = f_l(Z_l), where W_l (n_in, n_out)
    and b_l (n_out,) are live views into the network's flat ``params`` (writing to them changes
    the network). The MLP lays these views over its parameters and initialises them itself; a
    Layer never initialises anything. ``apply(A_prev)`` returns (Z_l, A_l) and stores nothing;
    ``forward`` and ``backward`` behave as :class:`~nnlib.Dense`'s, on the network's weights.

    Derived in chapter 3, *Layers* ({ref}`sec-layer-matrix`) and chapter 5, *Forward propagation*
    ({ref}`sec-forward-batch`).
    """

    def __init__(self, buffer: np.ndarray, n_in: int, n_out: int, activation: str) -> None:
        self.n_in, self.n_out, self.activation = n_in, n_out, activation
        self.code = CODES[activation]
        self.W = buffer[:n_in * n_out].reshape(n_in, n_out)
        self.b = buffer[n_in * n_out:n_in * n_out + n_out]
        self.X = self.Z = self.A = None
        self.dW = self.db = None

    def apply(self, A_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Z, A) = (A_prev W + b, f(A_prev W + b)) for a batch A_prev (N, n_in), float64 C-contiguous;
        nothing is cached (chapter 3, {ref}`sec-layer-matrix`)."""
        return _apply(A_prev, self.W, self.b, self.code)

    def forward(self, X: Any) -> np.ndarray:
        """A = f(X W + b) for a batch X (N, n_in); caches X, Z, A for ``backward``
        (chapter 3, {ref}`sec-layer-matrix`)."""
        return _forward(self, X)

    __call__ = forward

    def backward(self, dA: Any) -> np.ndarray:
        """Given dL/dA, set dW = X^T delta, db = sum_rows delta (fresh arrays, not the network's
        gradient) with delta = dA * f'(Z), and return dL/dX = delta W^T
        (chapter 6, {ref}`sec-backprop-vectorised`)."""
        return _backward(self, dA)

    def parameters(self) -> list[np.ndarray]:
        """[W, b] (live views into the network's ``params``): n_in n_out + n_out numbers
        (chapter 3, {ref}`sec-parameter-count`)."""
        return [self.W, self.b]

    def __repr__(self) -> str:
        return f"Layer({self.n_in}, {self.n_out}, activation={self.activation!r})"


class Dense:
    """One dense layer: Z = X W + b (N, n_out), A = f(Z); W is (n_in, n_out), b is (n_out,).

    The article's z_j = sum_i w_ji x_i + b_j has w_ji == W[i, j]. W is drawn by ``init`` (default:
    "he" for relu, "xavier" otherwise) from ``rng``; b starts at 0. ``forward`` caches X, Z and A;
    ``backward(dA)`` returns dX = delta W^T and sets dW = X^T delta, db = sum_rows delta with
    delta = dA * f'(Z). Each call to ``backward`` overwrites dW and db (no accumulation).
    Derived in chapter 3, *Layers* ({ref}`sec-layer-matrix`) and chapter 6,
    *Backpropagation* ({ref}`sec-backprop-vectorised`).
    """

    def __init__(self, n_in: int, n_out: int, activation: str = "tanh", init: str | None = None,
                 rng: Any = None) -> None:
        self.n_in = check_int(n_in, "n_in")
        self.n_out = check_int(n_out, "n_out")
        self.activation = check_output(activation, "activation")
        self.code = CODES[activation]
        self.W = np.empty((self.n_in, self.n_out))
        self.b = np.zeros(self.n_out)
        init_weights(self.W, check_init(init, activation), as_generator(rng, "rng"))
        self.X = self.Z = self.A = None
        self.dW = self.db = None

    def forward(self, X: Any) -> np.ndarray:
        """A = f(X W + b) for a batch X (N, n_in); caches X, Z, A for ``backward``
        (chapter 3, {ref}`sec-layer-matrix`)."""
        return _forward(self, X)

    __call__ = forward

    def backward(self, dA: Any) -> np.ndarray:
        """Given dL/dA, set dW = X^T delta, db = sum_rows delta (fresh arrays) with
        delta = dA * f'(Z), and return dL/dX = delta W^T (chapter 6, {ref}`sec-backprop-vectorised`)."""
        return _backward(self, dA)

    def parameters(self) -> list[np.ndarray]:
        """[W, b] (live views): n_in n_out + n_out numbers (chapter 3, {ref}`sec-parameter-count`)."""
        return [self.W, self.b]

    def __repr__(self) -> str:
        return f"Dense({self.n_in}, {self.n_out}, activation={self.activation!r})"
