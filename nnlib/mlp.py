"""The multilayer perceptron: a stack of dense layers whose parameters live in one flat buffer."""
from __future__ import annotations

import copy as _copy
from typing import Any

import numpy as np

from . import losses, train
from ._lazy import kernels as K
from ._notice import before_first_call, pick_variant
from ._validate import (
    as_float_array,
    as_generator,
    check_dropout,
    check_dtype,
    check_int,
    check_nonnegative,
    check_sizes,
    check_X,
    check_y,
)
from .activations import CODES, check_hidden, check_output
from .layers import Layer, check_init, init_weights

Grads = list[tuple[np.ndarray, np.ndarray]]
_NO_MASK = np.zeros(0)


class MLP:
    """A fully connected network with layer widths ``sizes`` = [n_0, n_1, ..., n_L].

    Layer l computes Z_l = A_{l-1} W_l + b_l, A_l = f_l(Z_l) with A_0 = X; hidden layers use
    ``hidden``, the last layer ``output`` (identity, sigmoid, tanh, relu or softmax). All W_l, b_l
    are views into the flat float64 array ``params`` (W_1, b_1, W_2, b_2, ...). Initialisation
    ``init`` is "xavier" (default for sigmoid/tanh/identity) or "he" (default for relu), drawn
    from ``seed`` (an int or a numpy Generator; never global random state); biases start at 0.
    ``layers[l-1]`` is layer l (a :class:`~nnlib.layers.Layer`: its W and b are views into
    ``params``).

    ``dropout`` p (one rate for every hidden layer, or a sequence with one rate per hidden layer,
    each in [0, 1)): inverted dropout during ``fit`` only: h~ = m * h / (1 - p) with
    m ~ Bernoulli(1 - p) per unit and row, so E[h~] = h; the backward pass multiplies by the same
    m / (1 - p). ``forward``, ``predict`` and ``loss`` use no dropout (nothing to rescale);
    ``loss_and_grads(..., mask=...)`` applies a given mask (see :meth:`dropout_mask`).

    ``dtype`` "float64" (default) or "float32": the dtype of ``params``, of every activation,
    gradient and optimiser state in ``fit`` (matrix products in float32 BLAS; losses summed in
    float64). Gradient checks need float64 (:func:`nnlib.gradcheck` refuses a float32 network; use
    :meth:`astype`).
    Derived in chapter 5, *Forward propagation* ({ref}`sec-forward-batch`), chapter 6,
    *Backpropagation* ({ref}`sec-backprop-vectorised`, initialisation in
    {ref}`sec-initialisation`), chapter 8 ({ref}`sec-mlp-nnlib`), chapter 9 (float32:
    {ref}`sec-float32`) and chapter 12 (dropout: {ref}`sec-dropout`).
    """

    def __init__(self, sizes: list[int], hidden: str = "tanh", output: str = "sigmoid",
                 init: str | None = None, seed: Any = None, dropout: Any = 0.0,
                 dtype: Any = "float64") -> None:
        #: Layer widths [n_0, n_1, ..., n_L].
        self.sizes = check_sizes(sizes)
        #: Activation of the hidden layers.
        self.hidden = check_hidden(hidden)
        #: Activation of the output layer.
        self.output = check_output(output)
        #: Initialisation rule of the weights, "xavier" or "he" ({ref}`sec-initialisation`).
        self.init = check_init(init, self.hidden)
        #: Dropout rate p_l of each hidden layer (a tuple of len(sizes) - 2 floats in [0, 1)).
        self.dropout: tuple[float, ...] = check_dropout(dropout, len(self.sizes) - 2)
        dtype = check_dtype(dtype)
        #: The network's random generator (initial weights; ``fit``'s shuffles and dropout masks
        #: when it gets no seed).
        self.rng = as_generator(seed)
        n_params = sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:]))
        #: Every weight and bias in one flat array (float64, or float32 with ``dtype="float32"``):
        #: W_1, b_1, W_2, b_2, ... (sum_l n_{l-1} n_l + n_l numbers; chapter 3,
        #: {ref}`sec-parameter-count`). Biases start at 0.
        self.params = np.zeros(n_params, dtype=dtype)
        #: Layer l as ``layers[l-1]``: a :class:`~nnlib.layers.Layer` whose W and b are views into
        #: ``params`` ({ref}`sec-forward-batch`).
        self.layers: list[Layer] = self._build()
        for layer in self.layers:                 # one draw per layer, first to last (in float64,
            init_weights(layer.W, self.init, self.rng)  # rounded to float32 for a float32 network)

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``params`` and of every computation: float64 or float32 ({ref}`sec-float32`)."""
        return self.params.dtype

    @property
    def _keep(self) -> np.ndarray:
        keep = np.ones(len(self.sizes) - 1)
        keep[:len(self.dropout)] = 1.0 - np.array(self.dropout, dtype=np.float64)
        return keep

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
        mask = np.zeros(self.params.shape)
        o = 0
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            mask[o:o + n_in * n_out] = 1.0
            o += n_in * n_out + n_out
        return mask

    # ----------------------------------------------------------------- forward pass
    def _run_forward(self, X: np.ndarray, mbuf: np.ndarray = _NO_MASK
                     ) -> tuple[np.ndarray, np.ndarray]:
        n = X.shape[0]
        width = int(self._sizes[1:].sum())
        zbuf, abuf = np.empty(n * width, self.dtype), np.empty(n * width, self.dtype)
        # compile only what this network uses, unless everything is compiled already (same numbers)
        kinds = pick_variant(K.forward, self.dtype, (), K.variant(self._acts, mbuf.size > 0, self._sizes),
                             K.GENERIC)
        before_first_call(K.forward, self.dtype, *kinds)
        K.forward(self.params, self._sizes, self._acts, X, n, zbuf, abuf, self._keep,
                  mbuf.astype(self.dtype, copy=False), *kinds)
        return zbuf, abuf

    def _input(self, X: Any, name: str = "X") -> np.ndarray:
        return check_X(X, self.sizes[0], name=name, dtype=self.dtype)

    def _targets(self, loss: str, y: Any, n: int) -> np.ndarray:
        return losses.check_targets(loss, check_y(y, n, self.sizes[-1], dtype=self.dtype))

    # ----------------------------------------------------------------- dropout
    def dropout_mask(self, n: int, seed: Any = None) -> list[np.ndarray]:
        """One dropout mask per hidden layer for a batch of ``n`` rows: m_l (n, n_l) of 0.0 and 1.0,
        m ~ Bernoulli(1 - p_l) (all ones where p_l = 0), drawn from ``seed`` (an int or Generator;
        default: the network's generator). Pass it to ``loss_and_grads(..., mask=...)`` or
        ``loss(..., mask=...)`` to hold the mask fixed, e.g. for a gradient check
        (chapter 12, {ref}`sec-dropout`)."""
        n = check_int(n, "n")
        rng = self.rng if seed is None else as_generator(seed)
        return [(rng.random((n, width)) < 1.0 - p).astype(np.float64) if p else np.ones((n, width))
                for p, width in zip(self.dropout, self.sizes[1:-1])]

    def _mask_buffer(self, mask: Any, n: int) -> np.ndarray:
        """mbuf (the kernels' layout) holding M_l = m_l / (1 - p_l) for a given mask."""
        if mask is None:
            return _NO_MASK
        hidden = len(self.sizes) - 2
        if not isinstance(mask, (list, tuple)) or len(mask) != hidden:
            raise ValueError(f"mask must be a list with one (N, n_l) array of 0s and 1s per hidden "
                             f"layer ({hidden} for sizes={self.sizes}), e.g. net.dropout_mask(N); "
                             f"got {type(mask).__name__}"
                             + (f" of length {len(mask)}" if isinstance(mask, (list, tuple)) else ""))
        width = sum(self.sizes[1:])
        mbuf = np.ones(n * width)
        o = 0
        for l, (m, p, k) in enumerate(zip(mask, self.dropout, self.sizes[1:-1])):
            m = as_float_array(m, f"mask[{l}]")
            if m.shape != (n, k):
                raise ValueError(f"mask[{l}] has shape {m.shape}; expected ({n}, {k}): one row per "
                                 f"input row, one column per unit of hidden layer {l + 1}")
            if not np.all((m == 0.0) | (m == 1.0)):
                raise ValueError(f"mask[{l}] must hold only 0 (dropped) and 1 (kept)")
            if p == 0.0 and not np.all(m == 1.0):
                raise ValueError(f"mask[{l}] drops units of hidden layer {l + 1}, whose dropout "
                                 f"rate is 0 (dropout={self.dropout}); its mask must be all ones")
            mbuf[o:o + n * k] = m.ravel() / (1.0 - p)
            o += n * k
        return mbuf

    def _output(self, buf: np.ndarray, n: int) -> np.ndarray:
        o = K.output_offset(self._sizes, n)
        return buf[o:o + n * self.sizes[-1]].reshape(n, self.sizes[-1])

    def forward(self, X: Any) -> np.ndarray:
        """The network output A_L (N, sizes[-1]) for a batch X (N, sizes[0]), all layers in one
        compiled call: A_0 = X, A_l = f_l(A_{l-1} W_l + b_l) (chapter 5, {ref}`sec-forward-batch`).
        No dropout (inverted dropout needs no rescaling at inference; {ref}`sec-dropout`)."""
        X = self._input(X)
        _, abuf = self._run_forward(X)
        return self._output(abuf, X.shape[0]).copy()

    __call__ = forward

    def forward_trace(self, X: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(zs, activations): Z_1..Z_L and A_0 = X, A_1..A_L, every intermediate of the forward pass.

        The loop of chapter 5, layer by layer: Z_l = A_{l-1} W_l + b_l, A_l = f_l(Z_l); the same
        numbers as :meth:`forward` (same compiled layer kernel).
        Derived in chapter 5, *Forward propagation* ({ref}`sec-forward-batch`).
        """
        X = self._input(X)
        zs, activations = [], [X]
        for layer in self.layers:
            Z, A = layer.apply(activations[-1])
            zs.append(Z)
            activations.append(A)
        return zs, activations

    # ----------------------------------------------------------------- losses and gradients
    def loss(self, X: Any, y: Any, loss: str = "mse", mask: Any = None) -> float:
        """The mean loss (mse, bce or cross_entropy; see :mod:`nnlib.losses`) of the network on (X, y);
        with ``mask`` (see :meth:`dropout_mask`), of the network thinned by that dropout mask.

        Derived in chapter 6, *Backpropagation* ({ref}`sec-delta`); dropout in chapter 12
        ({ref}`sec-dropout`).
        """
        code = losses.code_for(loss, self.output)
        X = self._input(X)
        Y = self._targets(loss, y, X.shape[0])
        n = X.shape[0]
        zbuf, abuf = self._run_forward(X, self._mask_buffer(mask, n))
        return float(K.loss_only(code, self._output(zbuf, n), self._output(abuf, n), Y))

    def loss_and_grads(self, X: Any, y: Any, loss: str = "mse", weight_decay: float = 0.0,
                       mask: Any = None) -> tuple[float, Grads]:
        """(L, [(dW_1, db_1), ..., (dW_L, db_L)]) by backpropagation; fresh arrays on every call.

        With weight decay lam: L += (lam/2) sum_l ||W_l||^2 and dW_l += lam W_l (biases not decayed).
        With a dropout ``mask`` [m_1, ..., m_{L-1}] (0/1 arrays (N, n_l), e.g. from
        :meth:`dropout_mask`): the thinned network h~_l = m_l * h_l / (1 - p_l), and the gradient
        of that network's loss, the mask held fixed (so it can be checked by finite differences
        with ``gradcheck(..., mask=mask)``). Without a mask: no dropout.
        Derived in chapter 6, *Backpropagation* ({ref}`sec-backprop-vectorised`); L2 in chapter 9
        ({ref}`sec-l2`); dropout in chapter 12 ({ref}`sec-dropout`).
        """
        code = losses.code_for(loss, self.output)
        lam = check_nonnegative(weight_decay, "weight_decay")
        X = self._input(X)
        Y = self._targets(loss, y, X.shape[0])
        n = X.shape[0]
        mbuf = self._mask_buffer(mask, n).astype(self.dtype, copy=False)
        zbuf, abuf = self._run_forward(X, mbuf)
        dbuf, flat = np.empty_like(zbuf), np.empty_like(self.params)
        kinds = pick_variant(K.backward, self.dtype, (),
                             K.variant(self._acts, mbuf.size > 0, self._sizes) + K.loss_variant(code),
                             K.GENERIC + K.GENERIC_LOSS)
        before_first_call(K.backward, self.dtype, *kinds)
        value = K.backward(self.params, self._sizes, self._acts, code, X, Y, n, zbuf, abuf, dbuf, flat,
                           self._keep, mbuf, *kinds)
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

    def astype(self, dtype: Any) -> MLP:
        """A copy of the network in ``dtype`` ("float64" or "float32"): same sizes, activations,
        dropout and parameter values (rounded to float32 for "float32"), e.g. a float64 copy of a
        float32 network for a gradient check ({ref}`sec-float32`)."""
        new = self.copy()
        new.params = self.params.astype(check_dtype(dtype))
        new.layers = new._build()
        return new

    def __repr__(self) -> str:
        extra = f", dropout={self.dropout if len(set(self.dropout)) > 1 else self.dropout[0]}" \
            if any(self.dropout) else ""
        if self.dtype != np.float64:
            extra += f", dtype={self.dtype.name!r}"
        return f"MLP({self.sizes}, hidden={self.hidden!r}, output={self.output!r}{extra})"

