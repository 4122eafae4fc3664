"""Helpers the chapters share: a timer and the standard digits network.

They are not formulas of the course, only the experiment plumbing that several chapters repeat
(timing a function, training the same digits classifier under different settings), kept in one
place so that every chapter runs the same code and a change reaches all of them.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import numpy as np

from .mlp import MLP

__all__ = ["best_time", "train_digits", "bench_report"]


def best_time(fn: Callable[[], object], repeat: int = 3) -> float:
    """The shortest of ``repeat`` wall-clock timings of ``fn()``, in seconds.

    The minimum, not the mean: other work on the machine only ever adds time, so the fastest run
    is the best estimate of the cost itself (the convention of Python's ``timeit``). Used to
    measure costs such as chapter 5's ({ref}`sec-forward-cost`).
    """
    if repeat < 1:
        raise ValueError(f"best_time(): repeat must be at least 1, got {repeat}")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def train_digits(X: np.ndarray, Y: np.ndarray, *, hidden: int = 32, sizes: Sequence[int] | None = None,
                 seed: int = 0, epochs: int = 150, **fit_options: Any) -> MLP:
    """The course's standard digits classifier, trained on (X, Y) and returned.

    A tanh network with a softmax output, ``sizes = [X.shape[1], hidden, Y.shape[1]]`` unless
    ``sizes`` is given, trained with cross-entropy and Adam (learning rate 0.01, mini-batches of
    32; chapter 7 derives Adam) for ``epochs`` epochs from the random start ``seed``.
    ``fit_options`` override or extend those settings (e.g. ``weight_decay=1e-3``), as in
    :meth:`nnlib.MLP.fit`. Chapter 8 ({ref}`sec-mlp-nnlib`).
    """
    if sizes is None:
        sizes = [X.shape[1], hidden, Y.shape[1]]
    net = MLP(list(sizes), hidden="tanh", output="softmax", seed=seed)
    options: dict[str, Any] = dict(loss="cross_entropy", optimizer="adam", lr=0.01, epochs=epochs,
                                   batch_size=32, seed=seed)
    options.update(fit_options)
    net.fit(X, Y, **options)
    return net


def bench_report() -> dict[str, Any] | None:
    """The benchmark report the chapters cite, or ``None`` if this copy of nnlib has none.

    ``make bench`` (``python -m bench.run --chapter-data``) writes it to ``nnlib/data/bench.json``,
    which ships with nnlib (and its wheel), so a chapter downloaded from the website reads the same
    figures as the repository's copy. Chapter 8 cites the XOR comparison
    ({ref}`sec-mlp-nnlib`), chapter 9 summarises the targets ({ref}`sec-faq-compute`).
    """
    path = resources.files("nnlib") / "data" / "bench.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
