"""Activation functions as (function, derivative) pairs, and the row-wise softmax.

Each activation object has ``.f(z)`` and ``.df(z)`` (the derivative f'(z), elementwise) and a
``name``; they work on scalars and arrays of any shape and use the same compiled kernels as the
network, so they give exactly the network's numbers.

This module owns the activation concept: the names, the integer codes by which the compiled
kernels (:mod:`nnlib.kernels`) receive them, which ones a hidden or an output layer may use, and
the checks of those names.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._lazy import kernels as K
from ._validate import as_float_array, check_name

# Integer codes by which the compiled kernels receive an activation (compile-time constants there).
IDENTITY, SIGMOID, TANH, RELU, SOFTMAX = 0, 1, 2, 3, 4


def _as_2d(z: Any, name: str) -> tuple[np.ndarray, tuple, bool]:
    arr = as_float_array(z, name)
    return np.ascontiguousarray(arr.reshape(1, -1)), arr.shape, np.ndim(z) == 0


class Activation:
    """An activation f with its derivative f'; see the formulas in each instance's docstring.

    Derived in chapter 2, *The neuron* ({ref}`sec-activations`); the derivatives are used in
    chapter 6, *Backpropagation* ({ref}`sec-delta`).
    """

    def __init__(self, name: str, code: int, doc: str) -> None:
        self.name = name
        self.code = code
        self.__doc__ = doc

    def f(self, z: Any) -> Any:
        """f(z), elementwise (the formula is in the instance's docstring; {ref}`sec-activations`)."""
        Z, shape, scalar = _as_2d(z, "z")
        A = np.empty_like(Z)
        K.activate(Z, A, self.code)
        return float(A[0, 0]) if scalar else A.reshape(shape)

    def df(self, z: Any) -> Any:
        """f'(z), elementwise (at z = 0 relu' is taken as 0); used in backpropagation's
        delta_l = (delta_{l+1} W_{l+1}^T) * f'(Z_l) ({ref}`sec-delta`)."""
        Z, shape, scalar = _as_2d(z, "z")
        A = np.empty_like(Z)
        K.activate(Z, A, self.code)
        G = np.ones_like(Z)
        K.activation_backward(G, Z, A, self.code)
        return float(G[0, 0]) if scalar else G.reshape(shape)

    __call__ = f

    def __repr__(self) -> str:
        return f"nnlib.activations.{self.name}"


identity = Activation("identity", IDENTITY,
                      "identity: f(z) = z, f'(z) = 1. Chapter 2, *The neuron* ({ref}`sec-activations`).")
sigmoid = Activation("sigmoid", SIGMOID,
                     "sigmoid: f(z) = 1 / (1 + e^{-z}), f'(z) = f(z)(1 - f(z)); computed stably "
                     "(chapter 5, {ref}`sec-stable-sigmoid-softmax`). Chapter 2 ({ref}`sec-activations`).")
tanh = Activation("tanh", TANH,
                  "tanh: f(z) = (e^z - e^{-z}) / (e^z + e^{-z}), f'(z) = 1 - f(z)^2. "
                  "Chapter 2, *The neuron* ({ref}`sec-activations`).")
relu = Activation("relu", RELU,
                  "ReLU: f(z) = max(0, z), f'(z) = 1 if z > 0 else 0. "
                  "Chapter 2, *The neuron* ({ref}`sec-activations`).")

#: The activations a hidden layer may use, by name.
ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (identity, sigmoid, tanh, relu)}
#: Names allowed for a network's output layer (hidden layers: the keys of ACTIVATIONS).
OUTPUTS: tuple[str, ...] = ("identity", "sigmoid", "tanh", "relu", "softmax")
#: The code of every activation name, as the compiled kernels receive it.
CODES: dict[str, int] = {**{k: a.code for k, a in ACTIVATIONS.items()}, "softmax": SOFTMAX}


def check_hidden(name: Any) -> str:
    """``name`` if it is a hidden-layer activation (a key of ACTIVATIONS); else a ValueError listing them.

    Softmax is for output layers only: it couples the units of a layer (chapter 5,
    {ref}`sec-stable-sigmoid-softmax`).
    """
    return check_name(name, tuple(ACTIVATIONS), "hidden activation")


def check_output(name: Any, what: str = "output activation") -> str:
    """``name`` if it is an output-layer activation (one of OUTPUTS); else a ValueError listing them.

    Chapter 2 ({ref}`sec-activations`) and chapter 5 ({ref}`sec-stable-sigmoid-softmax`).
    """
    return check_name(name, OUTPUTS, what)


def get(name: str) -> Activation:
    """The activation object called ``name`` (one of identity, sigmoid, tanh, relu).

    Chapter 2, *The neuron* ({ref}`sec-activations`).
    """
    return ACTIVATIONS[check_name(name, tuple(ACTIVATIONS), "activation")]


def softmax(z: Any) -> np.ndarray:
    """Row-wise softmax: s_k = e^{z_k - max_j z_j} / sum_j e^{z_j - max_j z_j} (last axis).

    Subtracting the row maximum changes nothing mathematically and prevents overflow.
    Derived in chapter 5, *Forward propagation* ({ref}`sec-stable-sigmoid-softmax`).
    """
    arr = as_float_array(z, "z")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    Z = np.ascontiguousarray(arr.reshape(-1, arr.shape[-1]))
    A = np.empty_like(Z)
    K.activate(Z, A, SOFTMAX)
    return A.reshape(arr.shape)
