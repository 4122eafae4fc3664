"""Small data sets, generated locally from a seed or shipped with nnlib (never downloaded).

Toy sets return X (n, 2) float64 and y (n, 1) float64 in {0, 1}; classes alternate so the two
halves are equal in size. Used throughout the course, first in chapter 2 ({ref}`sec-xor`) and
chapter 4 ({ref}`sec-representations`).
"""
from __future__ import annotations

import functools
import gzip
from pathlib import Path
from typing import Any

import numpy as np

from ._validate import as_generator, check_int, check_nonnegative

_DATA = Path(__file__).parent / "data"


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The XOR truth table: X = [[0,0],[0,1],[1,0],[1,1]], y = [[0],[1],[1],[0]] (y = x1 XOR x2).

    Chapter 2, *The neuron* ({ref}`sec-xor`).
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    return X, y


def _halves(n: int) -> tuple[int, int]:
    n = check_int(n, "n", minimum=2)
    return n - n // 2, n // 2


def _finish(parts: list[np.ndarray], labels: list[np.ndarray], rng, noise: float):
    X = np.concatenate(parts)
    y = np.concatenate(labels).reshape(-1, 1)
    X = X + rng.normal(0.0, noise, size=X.shape) if noise else X
    order = rng.permutation(len(X))
    return np.ascontiguousarray(X[order]), np.ascontiguousarray(y[order])


def spirals(n: int = 200, noise: float = 0.1, seed: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals, one turn each: class c at angle t in [0, 2 pi] has radius
    r = (t + 1/2) / (2 pi + 1/2) and x = r (cos(t + c pi), sin(t + c pi)) + N(0, noise^2).

    A 2-32-32-1 tanh network separates them (above 95 % with noise 0.1); a linear model cannot.

    Chapter 4, *Representations* ({ref}`sec-width-depth`).
    """
    rng = as_generator(seed)
    noise = check_nonnegative(noise, "noise")
    parts, labels = [], []
    for c, m in enumerate(_halves(n)):
        t = np.linspace(0.0, 2 * np.pi, m)
        r = (t + 0.5) / (2 * np.pi + 0.5)
        parts.append(np.column_stack([r * np.cos(t + c * np.pi), r * np.sin(t + c * np.pi)]))
        labels.append(np.full(m, float(c)))
    return _finish(parts, labels, rng, noise)


def moons(n: int = 200, noise: float = 0.1, seed: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: class 0 at (cos t, sin t), class 1 at (1 - cos t, 0.5 - sin t),
    t in [0, pi], plus N(0, noise^2) (as scikit-learn's make_moons).

    Chapter 4, *Representations* ({ref}`sec-learned-features`).
    """
    rng = as_generator(seed)
    noise = check_nonnegative(noise, "noise")
    n0, n1 = _halves(n)
    t0, t1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    parts = [np.column_stack([np.cos(t0), np.sin(t0)]),
             np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])]
    return _finish(parts, [np.zeros(n0), np.ones(n1)], rng, noise)


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5,
            seed: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: class 0 on radius 1, class 1 on radius ``factor``, plus N(0, noise^2).

    Chapter 4, *Representations* ({ref}`sec-hidden-layer-xor`).
    """
    rng = as_generator(seed)
    noise = check_nonnegative(noise, "noise")
    n0, n1 = _halves(n)
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n1, endpoint=False)
    parts = [np.column_stack([np.cos(t0), np.sin(t0)]),
             factor * np.column_stack([np.cos(t1), np.sin(t1)])]
    return _finish(parts, [np.zeros(n0), np.ones(n1)], rng, noise)


def noisy_xor(n: int = 200, noise: float = 0.1, seed: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """XOR as a cloud of n points: class 0 in the quadrants where x1 x2 > 0, class 1 where x1 x2 < 0.

    Each class has half its points in each of its two quadrants, with |x1|, |x2| ~ U(0.1, 1)
    (a margin of 0.1 along the axes) and signs fixed by the quadrant, then N(0, noise^2) added;
    so without noise y = [x1 > 0] XOR [x2 > 0], the truth table of :func:`xor` spread over the
    plane. The playground's XOR ({ref}`sec-playground`); the XOR problem is chapter 2's
    ({ref}`sec-xor`).
    """
    rng = as_generator(seed)
    noise = check_nonnegative(noise, "noise")
    quadrants = (((1.0, 1.0), (-1.0, -1.0)), ((-1.0, 1.0), (1.0, -1.0)))   # class 0, class 1
    parts, labels = [], []
    for c, m in enumerate(_halves(n)):
        for q, k in enumerate((m - m // 2, m // 2)):
            signs = np.array(quadrants[c][q])
            parts.append(signs * rng.uniform(0.1, 1.0, size=(k, 2)))
            labels.append(np.full(k, float(c)))
    return _finish(parts, labels, rng, noise)


@functools.lru_cache(maxsize=1)
def _digits_raw() -> np.ndarray:
    with gzip.open(_DATA / "digits.csv.gz", "rt") as fh:
        data = np.loadtxt(fh, delimiter=",")
    data.setflags(write=False)
    return data


def digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits: X (1797, 64) = pixel / 16 in [0, 1], labels (1797,) int in 0..9.

    Shipped file (UCI Optical Recognition of Handwritten Digits, via scikit-learn, BSD-3; see
    nnlib/data/README.md). Chapter 8, *A complete MLP* ({ref}`sec-mlp-nnlib`).
    """
    data = _digits_raw()
    return data[:, :64] / 16.0, data[:, 64].astype(np.int64)


def one_hot(labels: Any, k: int | None = None) -> np.ndarray:
    """Y (N, k) with Y[i, labels[i]] = 1 and 0 elsewhere; k defaults to max(labels) + 1.

    Chapter 8, *A complete MLP* ({ref}`sec-mlp-nnlib`).
    """
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.size == 0 or lab.dtype.kind not in "iub" and not np.all(lab == np.round(lab)):
        raise ValueError(f"labels must be a non-empty 1-D array of integer class labels, got shape "
                         f"{lab.shape} dtype {lab.dtype}")
    lab = lab.astype(np.int64)
    k = int(lab.max()) + 1 if k is None else check_int(k, "k")
    if lab.min() < 0 or lab.max() >= k:
        raise ValueError(f"labels must lie in 0..{k - 1} for k={k}, got range "
                         f"{lab.min()}..{lab.max()}")
    Y = np.zeros((lab.size, k))
    Y[np.arange(lab.size), lab] = 1.0
    return Y


def train_test_split(X: Any, y: Any, test_size: float = 0.25,
                     seed: Any = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, X_test, y_train, y_test): a seeded random permutation, the last
    round(test_size * N) rows (or ``test_size`` rows if it is an int) going to the test set.

    Chapter 9, *FAQ* ({ref}`sec-faq-overfitting`).
    """
    X, y = np.asarray(X), np.asarray(y)
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} rows but X has {n} rows; expected the same number")
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    else:
        if not 0.0 < float(test_size) < 1.0:
            raise ValueError(f"test_size must be a fraction in (0, 1) or a row count, got {test_size!r}")
        n_test = int(round(float(test_size) * n))
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size!r} leaves {n_test} test rows of {n}; expected "
                         f"between 1 and {n - 1}")
    order = as_generator(seed).permutation(n)
    tr, te = order[:n - n_test], order[n - n_test:]
    return X[tr], X[te], y[tr], y[te]
