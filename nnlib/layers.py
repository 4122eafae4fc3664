"""A dense (fully connected) layer: Z = X W + b, A = f(Z), with its backward pass."""
from __future__ import annotations

from typing import Any

import numpy as np

from ._lazy import kernels as K
from ._validate import as_float_array, as_generator, check_int, check_name, check_X
from .activations import CODES, OUTPUTS

INITS: tuple[str, ...] = ("xavier", "he")


def default_init(activation: str) -> str:
    """"he" for relu, "xavier" otherwise (chapter 7, {ref}`sec-learning-rate`)."""
    return "he" if activation == "relu" else "xavier"


def init_weights(W: np.ndarray, method: str, rng: np.random.Generator) -> None:
    """Fill W (n_in, n_out) in place.

    xavier (Glorot uniform): W ~ U(-a, a), a = sqrt(6 / (n_in + n_out));
    he (normal): W ~ N(0, 2 / n_in).
    Discussed in chapter 6, *Backpropagation* ({ref}`sec-vanishing-gradients`).
    """
    n_in, n_out = W.shape
    if method == "xavier":
        a = np.sqrt(6.0 / (n_in + n_out))
        W[...] = rng.uniform(-a, a, size=(n_in, n_out))
    else:
        W[...] = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


class Dense:
    """One dense layer: Z = X W + b (N, n_out), A = f(Z); W is (n_in, n_out), b is (n_out,).

    The article's z_j = sum_i w_ji x_i + b_j has w_ji == W[i, j]. ``forward`` caches X, Z and A;
    ``backward(dA)`` returns dX = delta W^T and sets dW = X^T delta, db = sum_rows delta with
    delta = dA * f'(Z). Each call to ``backward`` overwrites dW and db (no accumulation).
    Derived in chapter 3, *Layers* ({ref}`sec-layer-matrix`) and chapter 6,
    *Backpropagation* ({ref}`sec-backprop-vectorised`).
    """

    def __init__(self, n_in: int, n_out: int, activation: str = "tanh", init: str | None = None,
                 rng: Any = None, *, buffer: np.ndarray | None = None) -> None:
        self.n_in = check_int(n_in, "n_in")
        self.n_out = check_int(n_out, "n_out")
        self.activation = check_name(activation, OUTPUTS, "activation")
        self.code = CODES[activation]
        init = default_init(activation) if init is None else check_name(init, INITS, "init")
        if buffer is None:
            buffer = np.zeros(n_in * n_out + n_out)
        #: W and b are views into this one flat buffer (for an MLP: a slice of ``net.params``).
        self.buffer = buffer
        self.W = buffer[:n_in * n_out].reshape(n_in, n_out)
        self.b = buffer[n_in * n_out:]
        init_weights(self.W, init, as_generator(rng, "rng"))
        self.b[...] = 0.0
        self.X = self.Z = self.A = None
        self.dW = self.db = None

    def forward(self, X: Any) -> np.ndarray:
        """A = f(X W + b) for a batch X (N, n_in); caches X, Z, A for ``backward``."""
        X = check_X(X, self.n_in)
        Z = np.empty((X.shape[0], self.n_out))
        A = np.empty_like(Z)
        K.dense_forward(X, self.W, self.b, self.code, Z, A)
        self.X, self.Z, self.A = X, Z, A
        return A

    __call__ = forward

    def backward(self, dA: Any) -> np.ndarray:
        """Given dL/dA, set dW, db (fresh arrays) and return dL/dX = (dA * f'(Z)) W^T."""
        if self.A is None:
            raise RuntimeError("call forward(X) before backward(dA)")
        delta = as_float_array(dA, "dA").copy()
        if delta.shape != self.A.shape:
            raise ValueError(f"dA must have the shape of the layer output {self.A.shape}, got "
                             f"{delta.shape}")
        K.activation_backward(delta, self.Z, self.A, self.code)
        self.delta = delta
        self.dW = np.empty_like(self.W)
        self.db = np.empty_like(self.b)
        dX = np.empty_like(self.X)
        K.dense_backward(self.X, delta, self.dW, self.db)
        K.matmul_nt(delta, self.W, dX)
        return dX

    def parameters(self) -> list[np.ndarray]:
        """[W, b] (live views)."""
        return [self.W, self.b]

    def __repr__(self) -> str:
        return f"Dense({self.n_in}, {self.n_out}, activation={self.activation!r})"
