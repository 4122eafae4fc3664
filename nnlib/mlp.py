"""The multilayer perceptron: a stack of dense layers whose parameters live in one flat buffer."""
from __future__ import annotations

import copy as _copy
from typing import Any

import numpy as np

from . import losses, train
from ._lazy import kernels as K
from ._validate import as_generator, check_nonnegative, check_sizes, check_X, check_y
from .activations import CODES, check_hidden, check_output
from .layers import Layer, check_init, init_weights

Grads = list[tuple[np.ndarray, np.ndarray]]


class MLP:
    """A fully connected network with layer widths ``sizes`` = [n_0, n_1, ..., n_L].

    Layer l computes Z_l = A_{l-1} W_l + b_l, A_l = f_l(Z_l) with A_0 = X; hidden layers use
    ``hidden``, the last layer ``output`` (identity, sigmoid, tanh, relu or softmax). All W_l, b_l
    are views into the flat float64 array ``params`` (W_1, b_1, W_2, b_2, ...). Initialisation
    ``init`` is "xavier" (default for sigmoid/tanh/identity) or "he" (default for relu), drawn
    from ``seed`` (an int or a numpy Generator; never global random state); biases start at 0.
    ``layers[l-1]`` is layer l (a :class:`~nnlib.layers.Layer`: its W and b are views into
    ``params``).
    Derived in chapter 5, *Forward propagation* ({ref}`sec-forward-batch`), chapter 6,
    *Backpropagation* ({ref}`sec-backprop-vectorised`, initialisation in
    {ref}`sec-initialisation`) and chapter 8 ({ref}`sec-mlp-nnlib`).
    """

    def __init__(self, sizes: list[int], hidden: str = "tanh", output: str = "sigmoid",
                 init: str | None = None, seed: Any = None) -> None:
        #: Layer widths [n_0, n_1, ..., n_L].
        self.sizes = check_sizes(sizes)
        #: Activation of the hidden layers.
        self.hidden = check_hidden(hidden)
        #: Activation of the output layer.
        self.output = check_output(output)
        #: Initialisation rule of the weights, "xavier" or "he" ({ref}`sec-initialisation`).
        self.init = check_init(init, self.hidden)
        #: The network's random generator (initial weights; ``fit``'s shuffles when it gets no seed).
        self.rng = as_generator(seed)
        n_params = sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:]))
        #: Every weight and bias in one flat float64 array: W_1, b_1, W_2, b_2, ...
        #: (sum_l n_{l-1} n_l + n_l numbers; chapter 3, {ref}`sec-parameter-count`). Biases start at 0.
        self.params = np.zeros(n_params)
        #: Layer l as ``layers[l-1]``: a :class:`~nnlib.layers.Layer` whose W and b are views into
        #: ``params`` ({ref}`sec-forward-batch`).
        self.layers: list[Layer] = self._build()
        for layer in self.layers:                 # one draw per layer, first to last
            init_weights(layer.W, self.init, self.rng)

    def _build(self) -> list[Layer]:
        """The layers laid over ``params`` (views; the values are left as they are)."""
        L = len(self.sizes) - 1
        names = [self.hidden] * (L - 1) + [self.output]
        self._sizes = np.array(self.sizes, dtype=np.int64)
        self._acts = np.array([CODES[a] for a in names], dtype=np.int64)
        layers = []
        o = 0
        for (n_in, n_out), act in zip(zip(self.sizes[:-1], self.sizes[1:]), names):
            layers.append(Layer(self.params[o:o + n_in * n_out + n_out], n_in, n_out, act))
            o += n_in * n_out + n_out
        return layers

    @property
    def decay_mask(self) -> np.ndarray:
        """1.0 where ``params`` holds a weight, 0.0 where it holds a bias (biases are not decayed)."""
        mask = np.zeros_like(self.params)
        o = 0
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            mask[o:o + n_in * n_out] = 1.0
            o += n_in * n_out + n_out
        return mask

    # ----------------------------------------------------------------- forward pass
    def _run_forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = X.shape[0]
        width = int(self._sizes[1:].sum())
        zbuf, abuf = np.empty(n * width), np.empty(n * width)
        K.forward(self.params, self._sizes, self._acts, X, n, zbuf, abuf)
        return zbuf, abuf

    def _output(self, buf: np.ndarray, n: int) -> np.ndarray:
        o = K.output_offset(self._sizes, n)
        return buf[o:o + n * self.sizes[-1]].reshape(n, self.sizes[-1])

    def forward(self, X: Any) -> np.ndarray:
        """The network output A_L (N, sizes[-1]) for a batch X (N, sizes[0]), all layers in one
        compiled call: A_0 = X, A_l = f_l(A_{l-1} W_l + b_l) (chapter 5, {ref}`sec-forward-batch`)."""
        X = check_X(X, self.sizes[0])
        _, abuf = self._run_forward(X)
        return self._output(abuf, X.shape[0]).copy()

    __call__ = forward

    def forward_trace(self, X: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(zs, activations): Z_1..Z_L and A_0 = X, A_1..A_L, every intermediate of the forward pass.

        The loop of chapter 5, layer by layer: Z_l = A_{l-1} W_l + b_l, A_l = f_l(Z_l); the same
        numbers as :meth:`forward` (same compiled layer kernel).
        Derived in chapter 5, *Forward propagation* ({ref}`sec-forward-batch`).
        """
        X = check_X(X, self.sizes[0])
        zs, activations = [], [X]
        for layer in self.layers:
            Z, A = layer.apply(activations[-1])
            zs.append(Z)
            activations.append(A)
        return zs, activations

    # ----------------------------------------------------------------- losses and gradients
    def loss(self, X: Any, y: Any, loss: str = "mse") -> float:
        """The mean loss (mse, bce or cross_entropy; see :mod:`nnlib.losses`) of the network on (X, y).

        Derived in chapter 6, *Backpropagation* ({ref}`sec-delta`).
        """
        code = losses.code_for(loss, self.output)
        X = check_X(X, self.sizes[0])
        Y = losses.check_targets(loss, check_y(y, X.shape[0], self.sizes[-1]))
        zbuf, abuf = self._run_forward(X)
        n = X.shape[0]
        return float(K.loss_only(code, self._output(zbuf, n), self._output(abuf, n), Y))

    def loss_and_grads(self, X: Any, y: Any, loss: str = "mse",
                       weight_decay: float = 0.0) -> tuple[float, Grads]:
        """(L, [(dW_1, db_1), ..., (dW_L, db_L)]) by backpropagation; fresh arrays on every call.

        With weight decay lam: L += (lam/2) sum_l ||W_l||^2 and dW_l += lam W_l (biases not decayed).
        Derived in chapter 6, *Backpropagation* ({ref}`sec-backprop-vectorised`); L2 in chapter 9
        ({ref}`sec-l2`).
        """
        code = losses.code_for(loss, self.output)
        lam = check_nonnegative(weight_decay, "weight_decay")
        X = check_X(X, self.sizes[0])
        Y = losses.check_targets(loss, check_y(y, X.shape[0], self.sizes[-1]))
        n = X.shape[0]
        zbuf, abuf = self._run_forward(X)
        dbuf, flat = np.empty_like(zbuf), np.empty_like(self.params)
        value = K.backward(self.params, self._sizes, self._acts, code, X, Y, n, zbuf, abuf, dbuf, flat)
        if lam:
            mask = self.decay_mask
            value += 0.5 * lam * float(np.sum(mask * self.params ** 2))
            flat += lam * mask * self.params
        return float(value), self._split(flat)

    def _split(self, flat: np.ndarray) -> Grads:
        out, o = [], 0
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            out.append((flat[o:o + n_in * n_out].reshape(n_in, n_out),
                        flat[o + n_in * n_out:o + n_in * n_out + n_out]))
            o += n_in * n_out + n_out
        return out

    # ----------------------------------------------------------------- prediction and training
    def predict(self, X: Any) -> np.ndarray:
        """Labels (N,) int: argmax_k A_ik for several outputs; for one unit, class 1 when
        p = A_i1 >= 0.5, else 0. An identity output returns forward(X) (a regression).
        Chapter 8 ({ref}`sec-mlp-nnlib`)."""
        out = self.forward(X)
        if self.output == "identity":
            return out
        if out.shape[1] > 1:
            return out.argmax(axis=1)
        return (out[:, 0] >= 0.5).astype(np.int64)

    #: ``net.fit(X, y, ...)`` is :func:`nnlib.fit` (defined once, in :mod:`nnlib.train`).
    fit = train.fit

    def parameters(self) -> list[np.ndarray]:
        """[W_1, b_1, W_2, b_2, ...] as live views into ``params`` (chapter 3, {ref}`sec-parameter-count`)."""
        return [p for layer in self.layers for p in (layer.W, layer.b)]

    def num_parameters(self) -> int:
        """Number of weights and biases: sum_l (n_{l-1} n_l + n_l) (chapter 3, {ref}`sec-parameter-count`)."""
        return int(self.params.size)

    def copy(self) -> MLP:
        """An independent network with the same sizes, activations and parameter values (and a copy
        of the random generator), e.g. to train two variants from one start (chapter 7,
        {ref}`sec-learning-rate`)."""
        new = _copy.copy(self)
        new.params = self.params.copy()
        new.rng = _copy.deepcopy(self.rng)
        new.layers = new._build()
        return new

    def __repr__(self) -> str:
        return f"MLP({self.sizes}, hidden={self.hidden!r}, output={self.output!r})"

