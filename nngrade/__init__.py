"""nngrade: the course's small exercise grader.

Authoring (``authoring``), the student's ``check`` (``student``), the sandboxed runner
(``sandbox`` + ``harness``), grading and the gradebook (``grade``) and the command line (``cli``).
Judging happens only in the grader's process; see ``nngrade grade --help``.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .student import checker

__all__ = ["checker", "numerical_gradient"]
__version__ = "0.1.0"


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of a scalar function ``f`` at ``x`` (same shape as ``x``).

    Uses ``nnlib.gradcheck.numerical_gradient`` when nnlib is installed, so students and the
    course library agree; ``x`` is restored after each probe.
    """
    try:
        from nnlib.gradcheck import numerical_gradient as nn_numerical_gradient
        return nn_numerical_gradient(f, x, h=h)
    except ImportError:
        pass
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad
