"""The public API surface: modules, datasets, metrics, layers, optimisers, repr, import time."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnlib

ROOT = Path(__file__).resolve().parents[1]


def test_import_is_light_and_does_not_load_numba_or_matplotlib():
    code = ("import sys, time; t = time.perf_counter(); import nnlib; "
            "print(time.perf_counter() - t, 'numba' in sys.modules, 'matplotlib' in sys.modules)")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    assert out[1:] == ["False", "False"]
    assert float(out[0]) < 1.0                  # ~0.1 s; generous bound for a loaded machine


def test_every_public_docstring_cites_a_chapter():
    import inspect
    objs = [nnlib.MLP, nnlib.Dense, nnlib.SGD, nnlib.Adam, nnlib.History, nnlib.TrainingDiverged,
            nnlib.fit, nnlib.gradcheck, nnlib.numerical_gradient, nnlib.relative_error,
            nnlib.accuracy, nnlib.softmax, nnlib.MLP.loss_and_grads, nnlib.activations.Activation,
            nnlib.activations.get, nnlib.layers.init_weights]
    objs += [getattr(nnlib.losses, n) for n in ["mse", "mse_grad", "binary_cross_entropy",
                                                "binary_cross_entropy_grad", "cross_entropy",
                                                "cross_entropy_grad"]]
    objs += [getattr(nnlib.datasets, n) for n in ["xor", "spirals", "moons", "circles", "digits",
                                                  "one_hot", "train_test_split"]]
    objs += [nnlib.activations.sigmoid, nnlib.activations.tanh, nnlib.activations.relu,
             nnlib.activations.identity]
    objs += [nnlib.layers.Layer, nnlib.layers.default_init, nnlib.MLP.forward_trace, nnlib.MLP.loss,
             nnlib.MLP.predict, nnlib.MLP.fit, nnlib.optim.settings]
    from nnlib import kernels, train_kernels
    objs += [kernels.forward, kernels.backward, kernels.loss_and_delta, train_kernels.train_epochs,
             train_kernels.sgd_step, train_kernels.adam_step]
    for obj in objs:
        doc = inspect.getdoc(obj) or ""
        assert "{ref}`sec-" in doc, obj


def test_repr_and_parameters():
    net = nnlib.MLP([2, 4, 1], hidden="tanh", output="sigmoid", seed=0)
    assert repr(net) == "MLP([2, 4, 1], hidden='tanh', output='sigmoid')"
    assert repr(net.layers[0]) == "Layer(2, 4, activation='tanh')"
    assert net.num_parameters() == 2 * 4 + 4 + 4 * 1 + 1 == net.params.size
    W1, b1, W2, b2 = net.parameters()
    assert W1.shape == (2, 4) and b2.shape == (1,)
    assert all(np.shares_memory(p, net.params) for p in net.parameters())
    W1[0, 0] = 42.0
    assert net.params[0] == 42.0
    clone = net.copy()
    clone.params[0] = 0.0
    assert net.params[0] == 42.0 and clone.layers[0].W[0, 0] == 0.0
    np.testing.assert_array_equal(clone.params[1:], net.params[1:])
    assert np.all(net.layers[1].b == 0) and net.rng is not clone.rng


def test_init_rules_and_seeds():
    a = nnlib.MLP([50, 40, 3], hidden="tanh", seed=0)
    bound = np.sqrt(6 / 90)
    assert np.abs(a.layers[0].W).max() <= bound and np.abs(a.layers[0].W).max() > 0.9 * bound
    r = nnlib.MLP([400, 300, 1], hidden="relu", seed=0)
    assert r.layers[0].W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    same = nnlib.MLP([50, 40, 3], hidden="tanh", seed=np.random.default_rng(0))
    np.testing.assert_array_equal(a.params, same.params)
    assert not np.array_equal(a.params, nnlib.MLP([50, 40, 3], hidden="tanh", seed=1).params)
    he = nnlib.MLP([50, 40, 3], hidden="tanh", init="he", seed=0)
    assert not np.array_equal(a.params, he.params)


def test_forward_trace_and_call():
    X, _ = nnlib.datasets.xor()
    net = nnlib.MLP([2, 3, 2], hidden="relu", output="softmax", seed=0)
    zs, acts = net.forward_trace(X)
    assert [z.shape for z in zs] == [(4, 3), (4, 2)] and len(acts) == 3
    np.testing.assert_array_equal(acts[0], X)
    np.testing.assert_array_equal(acts[-1], net(X))
    np.testing.assert_allclose(acts[1], np.maximum(zs[0], 0))
    np.testing.assert_allclose(zs[1], acts[1] @ net.layers[1].W + net.layers[1].b, rtol=1e-12)
    assert net.predict(X).dtype == np.int64


def test_dense_layer_standalone():
    layer = nnlib.Dense(3, 2, activation="tanh", rng=np.random.default_rng(0))
    X = np.arange(6.0).reshape(2, 3) / 6
    A = layer.forward(X)
    np.testing.assert_allclose(A, np.tanh(X @ layer.W + layer.b), rtol=1e-13)
    dX = layer.backward(np.ones((2, 2)))
    delta = 1 - A ** 2
    np.testing.assert_allclose(layer.dW, X.T @ delta, rtol=1e-13)
    np.testing.assert_allclose(layer.db, delta.sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(dX, delta @ layer.W.T, rtol=1e-13)
    with pytest.raises(RuntimeError, match="forward"):
        nnlib.Dense(2, 2, rng=0).backward(np.ones((1, 2)))


def test_datasets_shapes_and_seeds():
    for make in (nnlib.datasets.spirals, nnlib.datasets.moons, nnlib.datasets.circles):
        X, y = make(101, seed=0)
        assert X.shape == (101, 2) and y.shape == (101, 1)
        assert set(np.unique(y)) == {0.0, 1.0} and abs(y.sum() - 50) <= 1
        np.testing.assert_array_equal(X, make(101, seed=0)[0])
        assert not np.array_equal(X, make(101, seed=1)[0])
        assert np.all(np.abs(X) < 3)
    Y = nnlib.datasets.one_hot(np.array([2, 0, 1]))
    np.testing.assert_array_equal(Y, np.eye(3)[[2, 0, 1]])
    assert nnlib.datasets.one_hot([1], k=4).shape == (1, 4)
    with pytest.raises(ValueError, match="labels must lie in 0..1"):
        nnlib.datasets.one_hot([0, 3], k=2)
    X, labels = nnlib.datasets.digits()
    X[0, 0] = 99.0                             # a copy: the cached data is not changed
    assert nnlib.datasets.digits()[0][0, 0] == 0.0
    Xtr, Xte, ytr, yte = nnlib.datasets.train_test_split(X, labels, seed=0)
    assert Xtr.shape == (1348, 64) and Xte.shape == (449, 64) and ytr.shape == (1348,)
    np.testing.assert_array_equal(nnlib.datasets.train_test_split(X, labels, seed=0)[1], Xte)


def test_accuracy_accepts_labels_one_hot_and_probabilities():
    acc = nnlib.accuracy
    assert acc([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    probs = np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.5, 0.1, 0.4]])
    assert acc(np.eye(3)[[0, 1, 2]], probs) == pytest.approx(2 / 3)
    assert acc(np.array([[0.0], [1.0]]), np.array([[0.2], [0.4]])) == 0.5
    assert acc([0, 1, 1], [0.1, 0.9, 0.6]) == 1.0
    with pytest.raises(ValueError, match="y_true gives 2 labels but y_pred gives 3"):
        acc([0, 1], [0, 1, 1])


def test_adam_class_and_flat_buffers():
    X, y = nnlib.datasets.xor()
    net = nnlib.MLP([2, 4, 1], seed=0)
    opt = nnlib.Adam(net, lr=0.05)
    first = net.loss(X, y)
    for _ in range(200):
        _, grads = net.loss_and_grads(X, y)
        opt.step(grads)
    assert net.loss(X, y) < first
    p = np.array([1.0, -2.0])
    sgd = nnlib.SGD(p, lr=0.5)
    sgd.step(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(p, [0.5, -2.5])
    with pytest.raises(ValueError, match="grads has 3 entries but params has 2"):
        sgd.step(np.zeros(3))


def test_gradcheck_is_the_function_and_numgrad_the_module():
    import types

    from nnlib import numgrad
    assert isinstance(nnlib.gradcheck, types.FunctionType) and nnlib.gradcheck is numgrad.gradcheck
    assert nnlib.numerical_gradient is numgrad.numerical_gradient
    assert nnlib.relative_error is numgrad.relative_error
    assert not hasattr(nnlib.gradcheck, "numerical_gradient")     # no attributes patched onto it
    # no module of that name either (not imported here: a stale editable install elsewhere could
    # provide one, and importing it would rebind nnlib.gradcheck to the module)
    assert not (Path(nnlib.__file__).parent / "gradcheck.py").exists()


def test_history_repr():
    X, y = nnlib.datasets.xor()
    h = nnlib.MLP([2, 2, 1], seed=0).fit(X, y, epochs=3)
    assert repr(h).startswith("History(epochs_run=3, loss=")


def test_warmup_runs_every_kernel():
    nnlib.warmup()


def test_predict_takes_class_1_at_exactly_one_half():
    X = np.array([[0.0, 0.0], [1.0, -1.0], [0.5, 0.25]])
    net = nnlib.MLP([2, 1], output="sigmoid", seed=0)
    net.params[...] = 0.0                                   # z = 0 for every row: p = 0.5 exactly
    assert np.all(net.forward(X) == 0.5)
    np.testing.assert_array_equal(net.predict(X), [1, 1, 1])
    assert nnlib.accuracy([1, 1, 1], net.forward(X)) == 1.0
    assert nnlib.accuracy([0, 1], [0.4999999, 0.5]) == 1.0
    # the accuracy fit records uses the same rule
    h = net.fit(X, np.ones((3, 1)), loss="bce", lr=1e-300, epochs=1)
    assert h.accuracy == [1.0]


def test_mlp_layers_are_views_not_standalone_dense_layers():
    net = nnlib.MLP([3, 4, 2], hidden="relu", output="softmax", seed=0)
    assert all(type(layer) is nnlib.layers.Layer for layer in net.layers)
    assert not any(isinstance(layer, nnlib.Dense) for layer in net.layers)
    assert [layer.activation for layer in net.layers] == ["relu", "softmax"]
    before = net.params.copy()
    net.layers[1].b[...] = 7.0                              # writes go to the flat buffer
    assert np.all(net.params[-2:] == 7.0) and np.array_equal(net.params[:-2], before[:-2])
    dense = nnlib.Dense(3, 4, activation="relu", rng=0)     # the standalone layer owns its arrays
    assert dense.W.base is None and dense.b.base is None and not hasattr(dense, "delta")
    # a network's layer offers Dense's forward/backward on the network's weights (chapter 10)
    X = np.random.default_rng(0).normal(size=(5, 3))
    twin = nnlib.Dense(3, 4, activation="relu", rng=0)
    twin.W[...], twin.b[...] = net.layers[0].W, net.layers[0].b
    A = net.layers[0].forward(X)
    np.testing.assert_array_equal(A, twin.forward(X))
    np.testing.assert_array_equal(A, net.forward_trace(X)[1][1])
    dA = np.random.default_rng(1).normal(size=A.shape)
    np.testing.assert_array_equal(net.layers[0].backward(dA), twin.backward(dA))
    np.testing.assert_array_equal(net.layers[0].dW, twin.dW)
    assert np.array_equal(net.params[:-2], before[:-2])     # backward does not touch the weights


@pytest.mark.parametrize("sizes,hidden,output", [([2, 3, 2], "relu", "softmax"),
                                                 ([5, 7, 6, 1], "tanh", "sigmoid"),
                                                 ([64, 128, 64, 10], "relu", "identity")])
def test_forward_trace_is_the_layer_loop_and_equals_the_compiled_forward(sizes, hidden, output):
    # the last case is large enough that the products go to BLAS (more than 8192 multiply-adds)
    X = np.random.default_rng(1).normal(size=(40, sizes[0]))
    net = nnlib.MLP(sizes, hidden=hidden, output=output, seed=2)
    zs, acts = net.forward_trace(X)
    np.testing.assert_array_equal(acts[-1], net.forward(X))            # same kernel, same bits
    for layer, Z, A_prev in zip(net.layers, zs, acts):
        np.testing.assert_allclose(Z, A_prev @ layer.W + layer.b, rtol=1e-12, atol=1e-12)


def test_every_public_docstring_in_the_concept_modules_cites_a_chapter():
    import importlib
    import inspect
    missing = []
    for name in ["activations", "losses", "layers", "mlp", "optim", "train", "numgrad", "metrics",
                 "datasets", "course", "kernels", "train_kernels", "autodiff"]:
        mod = importlib.import_module(f"nnlib.{name}")
        for attr, obj in vars(mod).items():
            fn = getattr(obj, "py_func", obj)                   # a compiled kernel: its Python function
            if attr.startswith("_") or getattr(fn, "__module__", None) != mod.__name__:
                continue
            if not (inspect.isfunction(fn) or inspect.isclass(fn)):
                continue
            members = [(attr, fn)]
            if inspect.isclass(fn):
                members += [(f"{attr}.{m}", v) for m, v in vars(fn).items()
                            if not m.startswith("_") and inspect.isfunction(v)]
            missing += [f"nnlib.{name}.{n}" for n, o in members
                        if "{ref}`sec-" not in (inspect.getdoc(o) or "")]
    assert not missing, missing
