"""Run every contender on one training problem and collect comparable figures.

A contender is a module ``bench/c_<name>.py`` with a class ``Contender(spec, X, Y, perms, params0,
shuffle_seed)`` offering ``prepare()`` (back to ``params0``, zero momentum; untimed), ``run(epochs=None)``
(train; timed), ``params()`` (final weights, flat, nnlib's layout) and ``losses`` (mean training
loss per epoch). ``perms[e]`` is the row order of epoch e (nnlib draws the same one from
``shuffle_seed`` itself).
"""
from __future__ import annotations

import importlib

import numpy as np

from .common import evaluate, gemm_only_epoch_s, median_times, shuffle_order, summarise, try_import_torch

ALL = ("nnlib", "numpy", "torch", "sklearn")


def load_contenders(names: tuple[str, ...]) -> tuple[dict, dict]:
    """({name: Contender class}, {name: reason skipped})."""
    classes, skipped = {}, {}
    for name in names:
        if name == "torch":
            torch, why = try_import_torch()
            if torch is None:
                skipped[name] = why
                continue
        classes[name] = importlib.import_module(f"bench.c_{name}").Contender
    return classes, skipped


def compare(spec: dict, X: np.ndarray, Y: np.ndarray, params0: np.ndarray, repeats: int,
            names: tuple[str, ...] = ALL, test: tuple[np.ndarray, np.ndarray] | None = None,
            shuffle_seed: int = 1, gemm_floor: bool = True) -> dict:
    """Train each contender ``repeats`` times from ``params0`` with the same batch order and return
    {"spec", "contenders": {name: figures}, "skipped": {name: reason}}.

    ``spec["dtype"]`` ("float64" by default, or "float32"): every contender computes in it.
    ``initial_loss``: the loss of ``params0`` on (X, Y); ``gemm_only_epoch_s``: the matrix
    products of one epoch alone, in NumPy in that dtype (a floor for every contender that uses
    BLAS; with ``gemm_floor``, not for tiny products, where it would only measure NumPy's call
    overhead); ``gemm_floor_ratio``: nnlib's epoch over that floor (``*_cpu``: the same from CPU
    times, less disturbed by load).
    Figures: ``time`` (seconds for the whole training, median/min/max), ``epoch_s`` (median / epochs),
    ``samples_per_s``, ``speedup`` (this contender's median time / nnlib's: how many times faster
    nnlib is), ``loss_first``/``loss_last`` (mean training loss of the first and last epoch as the
    contender reports it), ``train_loss``/``train_acc`` (and ``test_*``) of the final weights
    evaluated by one shared NumPy function, ``max_param_diff`` (max |theta - theta_nnlib|).
    """
    N, epochs = X.shape[0], spec["epochs"]
    perms = shuffle_order(N, epochs, spec["batch"], shuffle_seed)
    classes, skipped = load_contenders(names)
    objs = {n: c(spec, X, Y, perms, params0, shuffle_seed) for n, c in classes.items()}
    m = min(N, 4 * spec["batch"])  # warm-up on a few batches: compile, fill caches
    for c in classes.values():
        w = c(spec, X[:m], Y[:m], shuffle_order(m, 1, spec["batch"], shuffle_seed), params0,
              shuffle_seed)
        w.prepare()
        w.run(epochs=1)
    times = median_times(objs, repeats)
    out: dict = {}
    loss0 = evaluate(params0, spec, X, Y)[0]
    ref = objs["nnlib"].params() if "nnlib" in objs else None
    for n, o in objs.items():
        t = summarise(times[n])
        p = o.params()
        r = {"time": t, "epoch_s": t["median_s"] / epochs,
             "cpu_epoch_s": summarise(times[n + ":cpu"])["median_s"] / epochs,
             "samples_per_s": N * epochs / t["median_s"],
             "loss_first": o.losses[0], "loss_last": o.losses[-1]}
        r["train_loss"], r["train_acc"] = evaluate(p, spec, X, Y)
        if test is not None:
            r["test_loss"], r["test_acc"] = evaluate(p, spec, *test)
        if ref is not None:
            r["max_param_diff"] = float(np.max(np.abs(p - ref)))
        out[n] = r
    if "nnlib" in out:
        for r in out.values():
            r["speedup"] = r["time"]["median_s"] / out["nnlib"]["time"]["median_s"]
            r["cpu_speedup"] = r["cpu_epoch_s"] / out["nnlib"]["cpu_epoch_s"]
    res = {"spec": spec, "n_samples": N, "initial_loss": loss0, "contenders": out,
           "skipped": skipped}
    if gemm_floor:
        res["gemm_only_epoch_s"] = gemm_only_epoch_s(spec["sizes"], N, spec["batch"], repeats,
                                                     spec.get("dtype", "float64"))
        res["gemm_only_epoch_cpu_s"] = gemm_only_epoch_s(spec["sizes"], N, spec["batch"], repeats,
                                                         spec.get("dtype", "float64"), cpu=True)
        if "nnlib" in out:
            res["gemm_floor_ratio"] = out["nnlib"]["epoch_s"] / res["gemm_only_epoch_s"]
            res["gemm_floor_ratio_cpu"] = (out["nnlib"]["cpu_epoch_s"]
                                           / res["gemm_only_epoch_cpu_s"])
    return res
