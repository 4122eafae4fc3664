"""A scalar reverse-mode automatic differentiation engine, in pure Python.

It is the finished version of the engine that chapter 11, *Automatic differentiation*
({ref}`sec-autodiff`), builds step by step: small enough to read in one sitting, and the reference
against which a learner compares their own. It is meant for learning and for checking, not for
speed (chapter 11 measures how slow it is, {ref}`sec-autodiff-speed`).

    from nnlib.autodiff import Value
    x, y = Value(2.0), Value(-3.0)
    f = x * y + x.tanh()
    f.backward()
    x.grad, y.grad          # df/dx = y + 1 - tanh(x)^2, df/dy = x

Every operation returns a new :class:`Value` that records the Values it was computed from (its
*parents*) and the *local derivative* of its result with respect to each of them, a plain number
computed in the forward pass. :meth:`Value.backward` visits the graph in reverse topological
order and applies the chain rule: ``parent.grad += local * node.grad``.

The accumulation rule (chapter 11, {ref}`sec-autodiff-fanout`): within one backward sweep the
gradients of a Value used several times *add up* (fan-out). Between sweeps nothing accumulates:
``backward()`` first sets ``grad = 0`` on every Value of the graph it differentiates, so it always
leaves d(output)/d(v) in ``v.grad``, and calling it twice gives the same numbers, not twice them.
(PyTorch accumulates across calls instead and asks for ``zero_grad()``; to sum the gradients of
several losses here, add the losses into one Value and call ``backward()`` once.)

All data are finite Python floats: an operation whose result would be infinite or NaN (exp of a
large number, log of a non-positive one, division by zero, ...) raises an error saying which one.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["Value", "maximum", "softmax", "cross_entropy", "mse", "topological_order", "ValueMLP"]

Number = int | float


def _as_float(x: Any, what: str) -> float:
    """``x`` as a finite float; a clear error for anything else."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{what} must be a real number (int or float), got {type(x).__name__} {x!r:.40}")
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value}")
    return value


def _lift(x: Any) -> Value:
    """A Value as it is, a number as a constant Value (no parents)."""
    return x if isinstance(x, Value) else Value(_as_float(x, "an operand of a Value operation"))


class Value:
    """A scalar that remembers how it was computed: ``data``, ``grad``, ``parents``, ``local``.

    ``data`` is the number; ``grad`` is d(output)/d(this Value) after ``output.backward()`` (0.0
    before); ``parents`` are the Values it was computed from and ``local[i]`` is the local
    derivative d(this)/d(parents[i]) at the current data; ``op`` names the operation ("" for a
    leaf) and ``label`` is an optional name for printing. Derived in chapter 11
    ({ref}`sec-autodiff-value`); the local derivatives of every operation are tabulated in
    {ref}`sec-autodiff-rules`.
    """

    __slots__ = ("data", "grad", "parents", "local", "op", "label")

    def __init__(self, data: Number, label: str = "", *, parents: tuple[Value, ...] = (),
                 local: tuple[float, ...] = (), op: str = "") -> None:
        self.data = _as_float(data, f"Value data{' of ' + op if op else ''}")
        self.grad = 0.0
        self.parents = parents
        self.local = local
        self.op = op
        self.label = str(label)

    @classmethod
    def _node(cls, data: float, op: str, parents: tuple[Value, ...], local: tuple[float, ...]) -> Value:
        if not math.isfinite(data):
            args = ", ".join(f"{p.data:.6g}" for p in parents)
            raise ValueError(f"{op}({args}) = {data}: the result is not a finite number")
        node = cls.__new__(cls)          # the data is a checked float: skip __init__'s validation
        node.data, node.grad, node.parents, node.local, node.op, node.label = (
            data, 0.0, parents, local, op, "")
        return node

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        op = f", op={self.op!r}" if self.op else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g}{op})"

    def __float__(self) -> float:
        return self.data

    # ------------------------------------------------------------ binary operations
    def __add__(self, other: Value | Number) -> Value:
        """a + b; local derivatives (1, 1) ({ref}`sec-autodiff-rules`)."""
        b = _lift(other)
        return Value._node(self.data + b.data, "+", (self, b), (1.0, 1.0))

    def __radd__(self, other: Number) -> Value:
        return _lift(other) + self

    def __sub__(self, other: Value | Number) -> Value:
        """a - b; local derivatives (1, -1) ({ref}`sec-autodiff-rules`)."""
        b = _lift(other)
        return Value._node(self.data - b.data, "-", (self, b), (1.0, -1.0))

    def __rsub__(self, other: Number) -> Value:
        return _lift(other) - self

    def __mul__(self, other: Value | Number) -> Value:
        """a * b; local derivatives (b, a): multiplication swaps ({ref}`sec-autodiff-rules`)."""
        b = _lift(other)
        return Value._node(self.data * b.data, "*", (self, b), (b.data, self.data))

    def __rmul__(self, other: Number) -> Value:
        return _lift(other) * self

    def __truediv__(self, other: Value | Number) -> Value:
        """a / b; local derivatives (1/b, -a/b^2) ({ref}`sec-autodiff-rules`)."""
        b = _lift(other)
        if b.data == 0.0:
            raise ZeroDivisionError(f"division by zero: {self.data:.6g} / 0")
        return Value._node(self.data / b.data, "/", (self, b),
                           (1.0 / b.data, -self.data / (b.data * b.data)))

    def __rtruediv__(self, other: Number) -> Value:
        return _lift(other) / self

    def __pow__(self, exponent: Number) -> Value:
        """a ** c for a constant number c; local derivative c a^(c-1) ({ref}`sec-autodiff-rules`).

        A Value exponent is refused (write exp(c log a) for a > 0); so are a negative base with a
        non-integer exponent (not a real number) and 0 to a negative power.
        """
        if isinstance(exponent, Value):
            raise TypeError("the exponent of ** must be a constant number, not a Value; for a "
                            "variable exponent write (c * a.log()).exp() (needs a > 0)")
        c = _as_float(exponent, "the exponent of **")
        a = self.data
        if a < 0 and not c.is_integer():
            raise ValueError(f"({a:.6g}) ** {c:g} is not a real number: a negative base needs an "
                             f"integer exponent")
        if a == 0 and c < 0:
            raise ZeroDivisionError(f"0 ** {c:g}: zero to a negative power")
        if a == 0 and 0 < c < 1:
            raise ValueError(f"0 ** {c:g}: the derivative c a^(c-1) is infinite at a = 0")
        local = 0.0 if c == 0 else c * a ** (c - 1)
        return Value._node(a ** c, f"**{c:g}", (self,), (local,))

    def __neg__(self) -> Value:
        """-a; local derivative -1 ({ref}`sec-autodiff-rules`)."""
        return Value._node(-self.data, "neg", (self,), (-1.0,))

    def __abs__(self) -> Value:
        """|a|; local derivative sign(a), taken as 0 at a = 0 ({ref}`sec-autodiff-max-abs`)."""
        a = self.data
        return Value._node(abs(a), "abs", (self,), (1.0 if a > 0 else -1.0 if a < 0 else 0.0,))

    # ------------------------------------------------------------ functions of one Value
    def exp(self) -> Value:
        """e^a; local derivative e^a ({ref}`sec-autodiff-rules`)."""
        try:
            e = math.exp(self.data)
        except OverflowError:
            raise ValueError(f"exp({self.data:.6g}) overflows a float") from None
        return Value._node(e, "exp", (self,), (e,))

    def log(self) -> Value:
        """ln a for a > 0; local derivative 1/a ({ref}`sec-autodiff-rules`)."""
        if self.data <= 0:
            raise ValueError(f"log({self.data:.6g}): the logarithm needs a positive argument")
        return Value._node(math.log(self.data), "log", (self,), (1.0 / self.data,))

    def tanh(self) -> Value:
        """tanh a; local derivative 1 - tanh(a)^2 ({ref}`sec-autodiff-rules`)."""
        t = math.tanh(self.data)
        return Value._node(t, "tanh", (self,), (1.0 - t * t,))

    def sigmoid(self) -> Value:
        """sigma(a) = 1 / (1 + e^{-a}), computed without overflow; local derivative
        sigma(a)(1 - sigma(a)) ({ref}`sec-autodiff-rules`)."""
        a = self.data
        if a >= 0:
            s = 1.0 / (1.0 + math.exp(-a))
        else:
            e = math.exp(a)
            s = e / (1.0 + e)
        return Value._node(s, "sigmoid", (self,), (s * (1.0 - s),))

    def relu(self) -> Value:
        """max(0, a); local derivative 1 if a > 0 else 0 (0 at a = 0, as in nnlib)
        ({ref}`sec-autodiff-rules`)."""
        a = self.data
        return Value._node(a if a > 0 else 0.0, "relu", (self,), (1.0 if a > 0 else 0.0,))

    # ------------------------------------------------------------ the backward sweep
    def backward(self, seed: Number = 1.0) -> None:
        """Set ``v.grad`` = seed * d(self)/d(v) for every Value v that self was computed from.

        Reverse-mode chain rule: every grad in the graph is first set to 0, then ``self.grad =
        seed`` and, in reverse topological order, ``parent.grad += local * node.grad`` (the +=
        adds the contributions of a Value used more than once). Because of the reset, calling it
        twice gives the same result. Derived in chapter 11 ({ref}`sec-autodiff-backward`,
        {ref}`sec-autodiff-fanout`).
        """
        if isinstance(seed, Value) or not isinstance(seed, numbers.Real) or isinstance(seed, bool):
            raise TypeError("backward(seed): the seed must be one real number (the gradient of a "
                            "scalar output), got " + type(seed).__name__)
        g = _as_float(seed, "backward(seed)")
        order = topological_order(self)
        for v in order:
            v.grad = 0.0
        self.grad = g
        for v in reversed(order):
            for parent, local in zip(v.parents, v.local):
                parent.grad += local * v.grad


def topological_order(output: Value) -> list[Value]:
    """Every Value ``output`` depends on (itself included), each after all of its parents.

    A depth-first search with an explicit stack, so graphs deeper than Python's recursion limit
    work. Chapter 11 ({ref}`sec-autodiff-backward`).
    """
    if not isinstance(output, Value):
        raise TypeError(f"topological_order() needs a Value, got {type(output).__name__}")
    order: list[Value] = []
    seen: set[int] = {id(output)}
    stack: list[tuple[Value, int]] = [(output, 0)]
    while stack:
        v, i = stack.pop()
        if i < len(v.parents):
            stack.append((v, i + 1))
            p = v.parents[i]
            if id(p) not in seen:
                seen.add(id(p))
                stack.append((p, 0))
        else:
            order.append(v)
    return order


def maximum(a: Value | Number, b: Value | Number) -> Value:
    """max(a, b); local derivatives (1, 0) if a >= b else (0, 1): the gradient goes to the winner,
    to ``a`` on a tie (a subgradient; at a tie max has no derivative). Chapter 11
    ({ref}`sec-autodiff-gates`)."""
    va, vb = _lift(a), _lift(b)
    if va.data >= vb.data:
        return Value._node(va.data, "max", (va, vb), (1.0, 0.0))
    return Value._node(vb.data, "max", (va, vb), (0.0, 1.0))


def _values(xs: Iterable[Any], what: str) -> list[Value]:
    if isinstance(xs, (Value, str, bytes)) or not isinstance(xs, Iterable):
        raise TypeError(f"{what} must be a sequence of Values or numbers, got {type(xs).__name__}")
    out = [_lift(x) for x in xs]
    if not out:
        raise ValueError(f"{what} is empty; expected at least one element")
    return out


def _sum(xs: Sequence[Value]) -> Value:
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    return total


def softmax(logits: Sequence[Value | Number]) -> list[Value]:
    """p_k = e^{z_k - m} / sum_j e^{z_j - m}, built from exp, + and /, with m = max_j z_j taken as a
    constant (softmax does not change when a constant is subtracted, so neither does its
    gradient). Chapter 5 ({ref}`sec-stable-sigmoid-softmax`) and chapter 11
    ({ref}`sec-autodiff-softmax`)."""
    zs = _values(logits, "softmax(logits)")
    m = max(z.data for z in zs)
    es = [(z - m).exp() for z in zs]
    total = _sum(es)
    return [e / total for e in es]


def _target(target: Any, k: int) -> list[float]:
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        if not 0 <= int(target) < k:
            raise ValueError(f"class label {target} out of range: expected 0..{k - 1}")
        return [1.0 if j == int(target) else 0.0 for j in range(k)]
    ys = [_as_float(y, "a target value") for y in np.asarray(target, dtype=object).ravel()]
    if len(ys) != k:
        raise ValueError(f"target has {len(ys)} entries but there are {k} logits; expected a "
                         f"one-hot vector of length {k} or an integer class label")
    return ys


def cross_entropy(logits: Sequence[Value | Number], target: Any) -> Value:
    """Softmax cross-entropy of one example from its logits z and a one-hot target y (or a class
    label): L = -sum_k y_k (z_k - m - log sum_j e^{z_j - m}), m = max_j z_j (a constant).
    Its gradient is dL/dz = softmax(z) - y, which the engine finds by itself. Chapter 6
    ({ref}`sec-softmax-cross-entropy`) and chapter 11 ({ref}`sec-autodiff-softmax`)."""
    zs = _values(logits, "cross_entropy(logits)")
    ys = _target(target, len(zs))
    m = max(z.data for z in zs)
    lse = _sum([(z - m).exp() for z in zs]).log() + m
    return -_sum([(z - lse) * y for z, y in zip(zs, ys) if y != 0.0] or [Value(0.0)])


def mse(outputs: Sequence[Value | Number], targets: Any) -> Value:
    """Mean squared error of one example: L = (1/K) sum_k (a_k - y_k)^2. Chapter 6
    ({ref}`sec-delta`)."""
    outs = _values(outputs, "mse(outputs)")
    ys = [_as_float(y, "a target value") for y in np.asarray(targets, dtype=object).ravel()]
    if len(ys) != len(outs):
        raise ValueError(f"mse: {len(outs)} outputs but {len(ys)} targets; expected the same number")
    return _sum([(a - y) ** 2 for a, y in zip(outs, ys)]) / len(outs)


class ValueMLP:
    """The network of an :class:`nnlib.MLP` rebuilt from Values: one Value per weight and bias.

    ``ValueMLP(net)`` copies the current numbers of ``net`` (later changes to ``net`` are not
    seen); ``W[l][i][j]`` is ``net.layers[l].W[i, j]`` and ``b[l][j]`` is ``net.layers[l].b[j]``.
    :meth:`loss` builds the graph of the mean loss over a batch, exactly as nnlib defines it, so
    that after ``loss.backward()`` :meth:`grads` has the format and (to rounding) the numbers of
    ``net.loss_and_grads``. Chapter 11 ({ref}`sec-autodiff-frameworks`).
    """

    def __init__(self, net: Any) -> None:
        from .mlp import MLP
        if not isinstance(net, MLP):
            raise TypeError(f"ValueMLP needs an nnlib.MLP, got {type(net).__name__}")
        self.sizes = list(net.sizes)
        self.hidden, self.output = net.hidden, net.output
        self.W = [[[Value(w) for w in row] for row in layer.W.tolist()] for layer in net.layers]
        self.b = [[Value(v) for v in layer.b.tolist()] for layer in net.layers]

    def parameters(self) -> list[Value]:
        """Every weight and bias Value, in the order of ``net.params`` (W_1 row by row, b_1, ...).
        Chapter 3 ({ref}`sec-parameter-count`)."""
        return [v for W, b in zip(self.W, self.b) for v in [w for row in W for w in row] + b]

    def logits(self, x: Sequence[Number]) -> list[Value]:
        """z of the output layer for one example x (length sizes[0]): z_j = sum_i a_i W[i][j] + b_j
        with a = f(z) of the layer below, a = x at the input. Chapter 5 ({ref}`sec-forward`)."""
        a: list[Value | float] = [_as_float(v, "an input value") for v in np.asarray(x, dtype=object).ravel()]
        if len(a) != self.sizes[0]:
            raise ValueError(f"an example must have {self.sizes[0]} inputs, got {len(a)}")
        L = len(self.W)
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            z = [_sum([wi[j] * ai for wi, ai in zip(W, a)]) + b[j] for j in range(len(b))]
            if l == L - 1:
                return z
            a = [_activate(v, self.hidden) for v in z]
        raise AssertionError("unreachable")

    def forward(self, x: Sequence[Number]) -> list[Value]:
        """The network output a_L = f_L(z_L) for one example x (softmax or the element-wise output
        activation applied to the logits). Chapter 5 ({ref}`sec-forward`)."""
        z = self.logits(x)
        return softmax(z) if self.output == "softmax" else [_activate(v, self.output) for v in z]

    def loss(self, X: Any, Y: Any, loss: str = "mse") -> Value:
        """The mean loss over the rows of (X, Y), as nnlib defines it: mse = mean over N K terms,
        cross_entropy (softmax output) = mean over N examples, bce (sigmoid output) = mean over
        N K terms of -(y log p + (1 - y) log(1 - p)). Chapter 6 ({ref}`sec-delta`)."""
        from ._validate import check_X, check_y
        from .losses import canonical, check_pairing
        loss = canonical(loss)
        check_pairing(loss, self.output)
        X = check_X(X, self.sizes[0])
        Y = check_y(Y, X.shape[0], self.sizes[-1])
        n, k = Y.shape
        if loss == "cross_entropy":
            return _sum([cross_entropy(self.logits(x), y) for x, y in zip(X, Y)]) / n
        if loss == "bce":
            terms = [-(p.log() * y + (1 - p).log() * (1 - y)) if 0 < y < 1 else
                     -(p.log() if y == 1 else (1 - p).log())
                     for x, ys in zip(X, Y) for p, y in zip(self.forward(x), ys.tolist())]
            return _sum(terms) / (n * k)
        return _sum([(a - y) ** 2 for x, ys in zip(X, Y)
                     for a, y in zip(self.forward(x), ys.tolist())]) / (n * k)

    def grads(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(dW_1, db_1), ...] from the grads of the parameter Values (dW_l[i, j] = dL/dW_l[i][j],
        valid after ``loss(...).backward()``), the format of ``nnlib.MLP.loss_and_grads``.
        Chapter 11 ({ref}`sec-autodiff-frameworks`)."""
        return [(np.array([[w.grad for w in row] for row in W]), np.array([v.grad for v in b]))
                for W, b in zip(self.W, self.b)]


def _activate(z: Value, name: str) -> Value:
    if name == "identity":
        return z
    return getattr(z, name)()
