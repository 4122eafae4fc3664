"""Checks at the Python boundary, before any compiled kernel runs.

Every error names the argument, says what was expected and what was given (shapes as numbers),
so a learner never meets a Numba typing error.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def as_float_array(a: Any, name: str, dtype: Any = np.float64) -> np.ndarray:
    """Return ``a`` as a float64 (or ``dtype``) C-contiguous array; reject strings, objects, empty,
    NaN and inf."""
    if isinstance(a, (str, bytes)):
        raise TypeError(f"{name} must be an array of numbers, got a string {a!r:.40}")
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of numbers; could not convert it: {exc}") from None
    if arr.dtype.kind in "OUSVMm":
        raise TypeError(f"{name} must be an array of numbers (int or float), got dtype "
                        f"{arr.dtype} (strings or Python objects); convert it first, e.g. "
                        f"np.asarray({name}, dtype=float)")
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real numbers, got complex dtype {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one row "
                         f"and one column")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or inf value(s); expected only finite "
                         f"numbers (clean or drop them before training)")
    return arr


def check_X(X: Any, n_in: int, name: str = "X", dtype: Any = np.float64) -> np.ndarray:
    """Validate an input batch: 2-D, numeric, finite, ``n_in`` columns. Returns a float64 (or
    ``dtype``) C array."""
    arr = as_float_array(X, name, dtype)
    if arr.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D with shape (N, {n_in}), got 1-D shape {arr.shape}. "
            f"Use {name}.reshape(-1, 1) if it holds N samples of one feature, or "
            f"{name}.reshape(1, -1) if it is a single sample")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (N, {n_in}), got {arr.ndim}-D shape "
                         f"{arr.shape}")
    if arr.shape[1] != n_in:
        raise ValueError(f"{name} has {arr.shape[1]} columns (shape {arr.shape}) but the "
                         f"network's first layer expects {n_in} inputs (sizes[0] = {n_in})")
    return arr


def check_y(y: Any, n_rows: int, n_out: int, name: str = "y", x_name: str = "X",
            dtype: Any = np.float64) -> np.ndarray:
    """Validate targets: (N, n_out) (or 1-D length N when n_out == 1), numeric, finite; returned
    as a float64 (or ``dtype``) C array."""
    arr = as_float_array(y, name, dtype)
    if arr.ndim == 1:
        if n_out != 1:
            raise ValueError(
                f"{name} is 1-D with shape {arr.shape} but the network has {n_out} outputs, so "
                f"{name} must have shape ({n_rows}, {n_out}); for class labels use "
                f"nnlib.datasets.one_hot({name}, {n_out})")
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape ({n_rows}, {n_out}), got shape "
                         f"{arr.shape}")
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} rows but {x_name} has {n_rows} rows; "
                         f"expected one target row per input row")
    if arr.shape[1] != n_out:
        raise ValueError(f"{name} has {arr.shape[1]} columns (shape {arr.shape}) but the "
                         f"network's output layer has {n_out} units (sizes[-1] = {n_out})")
    return arr


def check_sizes(sizes: Any) -> list[int]:
    """Layer sizes: a list of at least two integers >= 1."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise TypeError(f"sizes must be a list of layer widths like [2, 4, 1], got {sizes!r}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least two layers (inputs and outputs), e.g. "
                         f"[2, 4, 1]; got {sizes} with {len(sizes)} entr"
                         f"{'y' if len(sizes) == 1 else 'ies'}")
    out = []
    for i, s in enumerate(sizes):
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"sizes[{i}] must be an integer, got {s!r} in sizes={sizes}")
        if s < 1:
            raise ValueError(f"sizes[{i}] must be >= 1 (a layer needs at least one unit), "
                             f"got {s} in sizes={sizes}")
        out.append(int(s))
    return out


def check_name(value: Any, known: Sequence[str], name: str) -> str:
    """An option given by name, e.g. an activation or loss; lists the known ones if unknown."""
    if not isinstance(value, str) or value not in known:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, known))}")
    return value


def check_positive(value: Any, name: str) -> float:
    """A finite real number > 0, e.g. the learning rate."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def check_nonnegative(value: Any, name: str, upper: float | None = None) -> float:
    """A finite real number >= 0 (and < ``upper`` if given), e.g. momentum or weight decay."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (upper is not None and v >= upper):
        rng = f"in [0, {upper:g})" if upper is not None else ">= 0"
        raise ValueError(f"{name} must be a finite number {rng}, got {value!r}")
    return v


def check_int(value: Any, name: str, minimum: int = 1) -> int:
    """An integer >= ``minimum``, e.g. epochs or batch size."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def as_generator(seed: Any, name: str = "seed") -> np.random.Generator:
    """A numpy Generator from an int seed, a Generator, or None (fresh entropy; never global state)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(f"{name} must be an int, a numpy.random.Generator or None, got {seed!r}")


def check_dropout(dropout: Any, hidden_layers: int) -> tuple[float, ...]:
    """Dropout rates, one per hidden layer, each a real number p in [0, 1): from one rate (used for
    every hidden layer) or a sequence with one rate per hidden layer (chapter 12,
    {ref}`sec-dropout`)."""
    def rate(value: Any, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number in [0, 1) (the probability of dropping a "
                            f"hidden unit), got {value!r}")
        v = float(value)
        if not (0.0 <= v < 1.0):
            raise ValueError(f"{name} must be in [0, 1) (the probability of dropping a hidden unit; "
                             f"1 would drop every unit), got {value!r}")
        return v

    if isinstance(dropout, numbers.Real) and not isinstance(dropout, bool):
        p = rate(dropout, "dropout")
        if p and hidden_layers == 0:
            raise ValueError(f"dropout={dropout!r} needs a hidden layer to act on, but the network "
                             f"has none (sizes has 2 entries); use dropout=0")
        return (p,) * hidden_layers
    if isinstance(dropout, (str, bytes)) or not isinstance(dropout, Iterable):
        raise TypeError(f"dropout must be a number in [0, 1) or a sequence with one such rate per "
                        f"hidden layer, got {dropout!r}")
    rates = list(dropout)
    if len(rates) != hidden_layers:
        raise ValueError(f"dropout has {len(rates)} rate(s) {rates} but the network has "
                         f"{hidden_layers} hidden layer(s); give one rate, or one per hidden layer")
    return tuple(rate(r, f"dropout[{i}]") for i, r in enumerate(rates))


#: The dtypes a network may compute in.
DTYPES: tuple[str, ...] = ("float64", "float32")


def check_dtype(dtype: Any) -> np.dtype:
    """``np.dtype("float64")`` or ``np.dtype("float32")`` from a name, a NumPy type or dtype
    (chapter 9, {ref}`sec-float32`)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dtype is None or dt.name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(map(repr, DTYPES))} (or np.float64, "
                         f"np.float32), got {dtype!r}")
    return dt
