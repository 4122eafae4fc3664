"""Classification accuracy."""
from __future__ import annotations

from typing import Any

import numpy as np


def _labels(a: Any) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 2 and a.shape[1] > 1:
        return a.argmax(axis=1)                       # one-hot rows or class scores
    a = a.reshape(-1)
    if a.dtype.kind in "biu" or np.all(a == np.round(a)) and a.size and a.max() > 1:
        return a.astype(np.int64)                     # labels
    return (a >= 0.5).astype(np.int64)                # probabilities of class 1 (or 0/1 floats)


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of rows whose predicted class equals the true class: (1/N) sum_i [c_i = c^_i].

    Each argument may be labels (N,), one-hot or scores (N, K) (argmax), or probabilities of
    class 1 (N,) / (N, 1) (class 1 when p >= 0.5). See chapter 8 ({ref}`sec-mlp-nnlib`).
    """
    t, p = _labels(y_true), _labels(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true gives {t.shape[0]} labels but y_pred gives {p.shape[0]}")
    if t.size == 0:
        raise ValueError("y_true is empty; expected at least one row")
    return float(np.mean(t == p))
