"""Compile-time variants of the kernels (issue 14): a first ``fit`` compiles only the activations
and the loss its network uses (``kernels.variant``, ``kernels.loss_variant``); the pruned variants
give exactly the numbers of the variant that has everything (``kernels.GENERIC``), which
``nnlib.warmup()`` compiles and ``fit`` then prefers."""
from __future__ import annotations

import numpy as np
import pytest

import nnlib
from nnlib import _notice, kernels, losses
from nnlib.activations import CODES

NETWORKS = [  # sizes, hidden, output, loss, rows
    ([2, 4, 1], "tanh", "sigmoid", "mse", 4),
    ([3, 5, 4, 3], "relu", "softmax", "cross_entropy", 7),
    ([2, 3, 2], "sigmoid", "sigmoid", "bce", 5),
    ([4, 6, 2], "tanh", "identity", "mse", 6),
    ([16, 40, 3], "relu", "softmax", "cross_entropy", 20),   # 20 * 16 * 40 > 8192: BLAS
]


def test_variant_names_what_the_network_uses():
    assert kernels.variant([CODES["tanh"], CODES["sigmoid"]], False, [2, 4, 1]) == (
        True, True, None, None, None, None)                  # no layer wider than 4: no row loops
    assert kernels.variant([CODES["relu"], CODES["relu"], CODES["softmax"]], True, [3, 5, 4, 3]) == (
        None, None, True, True, True, True)
    assert kernels.variant([CODES["identity"]], False, [40, 2]) == (None,) * 6
    assert kernels.loss_variant(losses.MSE) == (True, None, None)
    assert kernels.loss_variant(losses.CROSS_ENTROPY) == (None, None, True)


@pytest.mark.parametrize("sizes, hidden, output, loss, rows", NETWORKS)
def test_pruned_variant_gives_the_generic_numbers(sizes, hidden, output, loss, rows):
    net = nnlib.MLP(sizes, hidden=hidden, output=output, seed=3)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(rows, sizes[0]))
    if output == "softmax":
        Y = nnlib.datasets.one_hot(rng.integers(0, sizes[-1], rows), sizes[-1])
    else:
        Y = rng.uniform(size=(rows, sizes[-1])).round() if loss == "bce" else rng.normal(
            size=(rows, sizes[-1]))
    code = losses.CODES[loss]
    minimal = kernels.variant(net._acts, False, sizes)
    assert minimal != kernels.GENERIC
    width = sum(sizes[1:])
    out = {}
    # "registers": every small product on the register-sum path, also for layers wider than
    # kernels._NARROW (which the row loops serve in the other variants): the same numbers
    for name, kinds, loss_kinds in [("minimal", minimal, kernels.loss_variant(code)),
                                    ("registers", minimal[:5] + (None,), kernels.loss_variant(code)),
                                    ("generic", kernels.GENERIC, kernels.GENERIC_LOSS)]:
        zbuf, abuf, dbuf = (np.zeros(rows * width) for _ in range(3))
        grads = np.zeros_like(net.params)
        no_mask = np.zeros(0)
        kernels.forward(net.params, net._sizes, net._acts, X, rows, zbuf, abuf, net._keep, no_mask,
                        *kinds)
        value = kernels.backward(net.params, net._sizes, net._acts, code, X, Y, rows, zbuf, abuf,
                                 dbuf, grads, net._keep, no_mask, *kinds, *loss_kinds)
        out[name] = (value, abuf, grads)
    for name in ("minimal", "registers"):
        assert out[name][0] == out["generic"][0]
        assert np.array_equal(out[name][1], out["generic"][1])
        assert np.array_equal(out[name][2], out["generic"][2])
    assert np.isfinite(out["minimal"][0]) and np.any(out["minimal"][2] != 0.0)


def test_a_loss_left_out_of_the_variant_gives_nan():
    A = np.full((2, 1), 0.5)
    value = kernels.loss_and_delta(losses.BCE, A, A, A, np.empty_like(A), True, None, None)
    assert np.isnan(value)


def test_fit_gives_the_same_history_in_the_generic_variant(monkeypatch):
    X, y = nnlib.datasets.xor()

    def run() -> list[float]:
        net = nnlib.MLP([2, 4, 1], hidden="tanh", output="sigmoid", seed=0)
        return net.fit(X, y, loss="mse", lr=0.5, epochs=50).loss

    minimal = run()
    monkeypatch.setattr(_notice, "_force_generic", True)
    assert run() == minimal


def test_pick_variant_prefers_a_compiled_generic(monkeypatch):
    monkeypatch.setattr(_notice, "_chosen", {})
    fake = type("Fake", (), {})()
    fake.signatures = []
    fake._cache = type("C", (), {"_cache_file": type("F", (), {
        "_load_index": staticmethod(lambda: {})})()})()
    assert _notice.pick_variant(fake, "float64", (), (None, True), (True, True)) == (None, True)
    from numba import types
    arr = types.Array(types.float64, 1, "C")
    fake.signatures.append((arr, types.boolean, types.boolean))
    monkeypatch.setattr(_notice, "_chosen", {})
    assert _notice.pick_variant(fake, "float64", (), (None, True), (True, True)) == (True, True)
    assert _notice.pick_variant(fake, "float32", (), (None, True), (True, True)) == (None, True)


def test_a_predict_after_a_fit_with_dropout_runs_the_fits_forward():
    """The fit compiled forward with its masking loops; a predict (no masks) may run that variant
    (same numbers) instead of compiling another."""
    if not hasattr(nnlib.kernels.forward, "signatures"):
        pytest.skip("NUMBA_DISABLE_JIT=1: nothing is compiled")
    X, y = nnlib.datasets.xor()
    net = nnlib.MLP([2, 5, 1], hidden="relu", output="tanh", seed=0, dropout=0.2)
    net.fit(X, y, loss="mse", lr=0.1, epochs=3)
    before = len(nnlib.kernels.forward.signatures)
    fitted = [s for s in nnlib.kernels.forward.signatures if str(s[13]) != "none"]  # use_dropout
    assert fitted
    p = net.forward(X)
    assert len(nnlib.kernels.forward.signatures) == before
    plain = nnlib.MLP([2, 5, 1], hidden="relu", output="tanh", seed=0)
    plain.params[...] = net.params
    assert np.array_equal(p, plain.forward(X))
