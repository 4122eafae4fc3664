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
    from nnlib import kernels, train_kernels
    objs += [kernels.forward, kernels.backward, kernels.loss_and_delta, train_kernels.train_epochs,
             train_kernels.sgd_step, train_kernels.adam_step]
    for obj in objs:
        doc = inspect.getdoc(obj) or ""
        assert "{ref}`sec-" in doc, obj


def test_repr_and_parameters():
    net = nnlib.MLP([2, 4, 1], hidden="tanh", output="sigmoid", seed=0)
    assert repr(net) == "MLP([2, 4, 1], hidden='tanh', output='sigmoid')"
    assert repr(net.layers[0]) == "Dense(2, 4, activation='tanh')"
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


def test_gradcheck_module_helpers_reachable():
    assert nnlib.gradcheck.relative_error is nnlib.relative_error
    from nnlib.gradcheck import numerical_gradient
    assert numerical_gradient is nnlib.numerical_gradient


def test_history_repr():
    X, y = nnlib.datasets.xor()
    h = nnlib.MLP([2, 2, 1], seed=0).fit(X, y, epochs=3)
    assert repr(h).startswith("History(epochs_run=3, loss=")


def test_warmup_runs_every_kernel():
    nnlib.warmup()
