"""Training: convergence on XOR and digits, reproducibility, early stopping, divergence."""
import math
import os

import numpy as np
import pytest

import nnlib

# The pure-Python run (NUMBA_DISABLE_JIT=1) skips the long trainings; the equality of its numbers
# with the compiled run is checked in test_nnlib_reference.py::test_same_numbers_with_jit_disabled.
slow = pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1",
                          reason="long training: too slow with the JIT disabled")


def test_api_example_from_the_issue():
    X, y = nnlib.datasets.xor()
    net = nnlib.MLP([2, 4, 1], hidden="tanh", output="sigmoid", seed=0)
    out = net.forward(X)
    assert out.shape == (4, 1)
    loss, grads = net.loss_and_grads(X, y, loss="mse")
    assert [(dW.shape, db.shape) for dW, db in grads] == [((2, 4), (4,)), ((4, 1), (1,))]
    history = net.fit(X, y, loss="mse", lr=0.5, epochs=2000)
    assert len(history.loss) == history.epochs_run == 2000
    err = nnlib.gradcheck(net, X, y, loss="mse")
    assert err < 1e-6
    assert history.loss[-1] < loss


def test_xor_reaches_low_mse():
    X, y = nnlib.datasets.xor()
    net = nnlib.MLP([2, 4, 1], hidden="tanh", output="sigmoid", seed=0)
    history = net.fit(X, y, loss="mse", lr=0.5, epochs=5000)
    assert net.loss(X, y) < 0.01
    assert history.accuracy[-1] == 1.0
    np.testing.assert_array_equal(net.predict(X), [0, 1, 1, 0])


@slow
def test_digits_test_accuracy():
    X, labels = nnlib.datasets.digits()
    assert X.shape == (1797, 64) and labels.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0 and set(labels) == set(range(10))
    Xtr, Xte, ytr, yte = nnlib.datasets.train_test_split(X, labels, test_size=0.25, seed=0)
    net = nnlib.MLP([64, 32, 10], hidden="tanh", output="softmax", seed=0)
    history = net.fit(Xtr, nnlib.datasets.one_hot(ytr, 10), loss="cross_entropy", lr=0.1,
                      epochs=30, batch_size=32, momentum=0.9, seed=0)
    acc = nnlib.accuracy(yte, net.predict(Xte))
    assert acc >= 0.95, acc
    assert history.accuracy[-1] > 0.95


def _moons_fit(seed, **kw):
    X, y = nnlib.datasets.moons(100, seed=0)
    net = nnlib.MLP([2, 8, 1], hidden="relu", output="sigmoid", seed=0)
    h = net.fit(X, y, loss="bce", lr=0.1, epochs=20, batch_size=10, seed=seed, **kw)
    return net.params.copy(), h


def test_minibatch_fit_is_reproducible_and_seed_dependent():
    p1, h1 = _moons_fit(1)
    p2, h2 = _moons_fit(1)
    p3, _ = _moons_fit(2)
    np.testing.assert_array_equal(p1, p2)
    assert h1.loss == h2.loss
    assert not np.array_equal(p1, p3)
    p4, _ = _moons_fit(np.random.default_rng(1))
    np.testing.assert_array_equal(p1, p4)


def test_unshuffled_minibatches_do_not_depend_on_seed():
    p1, _ = _moons_fit(1, shuffle=False)
    p2, _ = _moons_fit(2, shuffle=False)
    np.testing.assert_array_equal(p1, p2)


def test_fit_uses_the_network_generator_when_seed_is_none():
    X, y = nnlib.datasets.moons(60, seed=0)
    nets = [nnlib.MLP([2, 5, 1], seed=9) for _ in range(2)]
    for net in nets:
        net.fit(X, y, lr=0.2, epochs=5, batch_size=7)
    np.testing.assert_array_equal(nets[0].params, nets[1].params)


def test_early_stopping_stops_and_restores_best_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    y = (rng.random((40, 1)) < 0.5).astype(float)           # pure noise: validation loss rises
    Xv = rng.normal(size=(40, 5))
    yv = (rng.random((40, 1)) < 0.5).astype(float)
    net = nnlib.MLP([5, 32, 1], hidden="tanh", output="sigmoid", seed=0)
    h = net.fit(X, y, loss="bce", lr=0.5, epochs=2000, validation_data=(Xv, yv), patience=10)
    assert h.stopped_early and h.epochs_run < 2000
    assert h.epochs_run == h.best_epoch + 1 + 10
    assert len(h.val_loss) == len(h.val_accuracy) == len(h.loss) == h.epochs_run
    assert h.val_loss[h.best_epoch] == min(h.val_loss)
    assert net.loss(Xv, yv, loss="bce") == pytest.approx(h.val_loss[h.best_epoch], rel=1e-12)


def test_validation_without_patience_keeps_last_weights():
    X, y = nnlib.datasets.circles(80, seed=0)
    Xv, yv = nnlib.datasets.circles(40, seed=1)
    net = nnlib.MLP([2, 6, 1], seed=0)
    h = net.fit(X, y, lr=0.5, epochs=30, validation_data=(Xv, yv))
    assert not h.stopped_early and h.epochs_run == 30
    assert net.loss(Xv, yv) == pytest.approx(h.val_loss[-1], rel=1e-12)
    assert 0 <= h.best_epoch < 30


def test_divergence_raises_with_helpful_message():
    X, y = nnlib.datasets.xor()
    net = nnlib.MLP([2, 8, 1], hidden="relu", output="identity", seed=0)
    before = net.params.copy()
    with pytest.raises(nnlib.TrainingDiverged) as info:
        net.fit(X * 100, y, lr=50.0, epochs=100)
    msg = str(info.value)
    assert isinstance(info.value, FloatingPointError)
    assert "NaN or inf" in msg and "epoch" in msg and "smaller learning rate" in msg
    np.testing.assert_array_equal(net.params, before)
    assert np.all(np.isfinite(net.params))


@slow
def test_adam_and_identity_output_history():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (64, 1))
    y = np.sin(3 * X)
    net = nnlib.MLP([1, 16, 1], hidden="tanh", output="identity", seed=0)
    h = net.fit(X, y, lr=0.01, epochs=300, optimizer="adam", batch_size=16, seed=0)
    assert h.loss[-1] < 0.02 < h.loss[0]
    assert all(math.isnan(a) for a in h.accuracy)
    assert net.predict(X).shape == (64, 1)


def test_long_runs_are_chunked(monkeypatch):
    import nnlib.train as train
    monkeypatch.setattr(train, "_PERM_BUDGET", 40)            # 10 epochs of 4 rows per call
    X, y = nnlib.datasets.xor()
    a = nnlib.MLP([2, 3, 1], seed=1)
    b = a.copy()
    ha = a.fit(X, y, lr=0.5, epochs=35, batch_size=2, seed=3)
    monkeypatch.setattr(train, "_PERM_BUDGET", 10 ** 6)
    hb = b.fit(X, y, lr=0.5, epochs=35, batch_size=2, seed=3)
    assert ha.epochs_run == 35 and len(ha.loss) == 35
    assert ha.loss == hb.loss                     # the generator yields the same shuffles either way
    np.testing.assert_array_equal(a.params, b.params)


@slow
@pytest.mark.parametrize("name,sizes", [("spirals", [2, 32, 32, 1]), ("moons", [2, 8, 1]),
                                        ("circles", [2, 8, 1])])
def test_toy_datasets_are_learnable(name, sizes):
    X, y = getattr(nnlib.datasets, name)(200, seed=0)
    net = nnlib.MLP(sizes, hidden="tanh", output="sigmoid", seed=0)
    net.fit(X, y, loss="bce", lr=0.01, epochs=1000, batch_size=32, optimizer="adam", seed=0)
    assert nnlib.accuracy(y, net.predict(X)) >= 0.95


def test_fit_passes_adams_betas_and_eps_through():
    X, y = nnlib.datasets.moons(24, seed=0)
    a = nnlib.MLP([2, 5, 1], seed=0)
    b = a.copy()
    a.fit(X, y, loss="bce", optimizer="adam", lr=0.05, epochs=6, betas=(0.5, 0.9), eps=1e-3,
          weight_decay=0.01)
    opt = nnlib.Adam(b, lr=0.05, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.01)
    for _ in range(6):                                       # full batch: one step per epoch
        opt.step(b.loss_and_grads(X, y, loss="bce")[1])
    np.testing.assert_array_equal(a.params, b.params)
    c = b.copy()
    c.params[...] = a.params
    c.fit(X, y, loss="bce", optimizer="adam", lr=0.05, epochs=2)         # default betas, eps
    d = b.copy()
    d.params[...] = a.params
    d.fit(X, y, loss="bce", optimizer="adam", lr=0.05, epochs=2, betas=(0.9, 0.999), eps=1e-8)
    np.testing.assert_array_equal(c.params, d.params)                   # defaults = PyTorch's


def test_optimizer_settings_the_optimizer_does_not_use_are_errors():
    X, y = nnlib.datasets.xor()
    net = nnlib.MLP([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match="betas and eps are settings of optimizer='adam'"):
        net.fit(X, y, optimizer="sgd", betas=(0.9, 0.99))
    with pytest.raises(ValueError, match="momentum=0.9 is a setting of optimizer='sgd'"):
        net.fit(X, y, optimizer="adam", momentum=0.9)
    with pytest.raises(ValueError, match=r"betas\[1\] must be a finite number in \[0, 1\)"):
        net.fit(X, y, optimizer="adam", betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="betas must be a pair"):
        net.fit(X, y, optimizer="adam", betas=0.9)
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        net.fit(X, y, optimizer="adam", eps=0.0)
    assert nnlib.MLP.fit is nnlib.fit                       # one definition of fit
