"""Inverted dropout in nnlib: ``MLP(..., dropout=p)`` (chapter 12, sec-dropout).

The gradient of the thinned network is checked by central differences with the mask held fixed;
the inverted scaling keeps the expected activation; a seed repeats a run exactly; p = 0 is the
network without dropout; forward/predict never drop; bad rates are refused with a clear message.
Whether dropout regularises is chapter 12's experiment, not a unit test.
"""
from __future__ import annotations

import numpy as np
import pytest

import nnlib
from nnlib import kernels


def _data(n=12, n_in=3, k=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    return X, np.eye(k)[rng.integers(0, k, n)]


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid", "relu", "identity"])
@pytest.mark.parametrize("dropout", [0.5, (0.2, 0.0), (0.3, 0.6)])
def test_gradient_with_a_fixed_mask_matches_central_differences(hidden, dropout):
    X, Y = _data()
    net = nnlib.MLP([3, 6, 5, 2], hidden=hidden, output="softmax", seed=1, dropout=dropout)
    net.params[...] += 0.05        # biases away from 0: no relu kink within h of any point
    mask = net.dropout_mask(X.shape[0], seed=2)
    assert any((m == 0).any() for m in mask)   # something is dropped, so the mask matters
    err = nnlib.gradcheck(net, X, Y, loss="cross_entropy", mask=mask)
    assert err < 1e-6, err
    # and it is a different gradient from the one without dropout
    _, g_mask = net.loss_and_grads(X, Y, loss="cross_entropy", mask=mask)
    _, g_none = net.loss_and_grads(X, Y, loss="cross_entropy")
    assert not np.allclose(g_mask[0][0], g_none[0][0])


def test_masked_loss_is_the_thinned_network_computed_by_hand():
    X, Y = _data()
    net = nnlib.MLP([3, 6, 2], hidden="tanh", output="softmax", seed=3, dropout=0.4)
    mask = net.dropout_mask(X.shape[0], seed=4)
    (W1, b1), (W2, b2) = [(la.W, la.b) for la in net.layers]
    H = np.tanh(X @ W1 + b1) * mask[0] / (1 - 0.4)
    loss = nnlib.losses.cross_entropy(H @ W2 + b2, Y)
    assert net.loss(X, Y, loss="cross_entropy", mask=mask) == pytest.approx(loss, rel=1e-12)
    value, _ = net.loss_and_grads(X, Y, loss="cross_entropy", mask=mask)
    assert value == pytest.approx(loss, rel=1e-12)


def test_inverted_scaling_keeps_the_expected_activation():
    """E[m h / (1-p)] = h: the masks fit draws (draw_masks), averaged over 4000 rows, scale a unit
    activation to 1 within 5 standard errors; and the share of kept units is 1 - p."""
    p, rows, width = 0.3, 4000, 50
    sizes = np.array([1, width, 1], dtype=np.int64)
    keep = np.array([1 - p, 1.0])
    mbuf = np.empty(rows * (width + 1))
    from nnlib import train_kernels
    train_kernels.draw_masks(sizes, keep, rows, rows, mbuf, np.array([12345], dtype=np.uint64))
    M = mbuf[:rows * width]
    assert set(np.unique(M)) == {0.0, 1 / (1 - p)}
    se = np.sqrt(p / (1 - p) / M.size)          # sd of M is sqrt(p / (1 - p)) for E[M] = 1
    assert abs(M.mean() - 1.0) < 5 * se, (M.mean(), se)
    assert abs((M > 0).mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / M.size)
    # the network's own mask draws too: mean of the thinned activation over many masks
    X = np.full((rows, 1), 0.7)
    net = nnlib.MLP([1, width, 1], hidden="identity", output="identity", seed=0, dropout=p)
    H = X @ net.layers[0].W + net.layers[0].b
    m = net.dropout_mask(rows, seed=5)[0]
    thinned = (m * H / (1 - p)).mean(axis=0)
    se_unit = np.abs(H[0]) * np.sqrt(p / (1 - p) / rows)
    assert np.all(np.abs(thinned - H[0]) < 5 * se_unit + 1e-15)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_same_seed_same_run_other_seed_other_run(optimizer):
    X, Y = _data(40)
    kw = dict(loss="cross_entropy", lr=0.05, epochs=15, batch_size=8, optimizer=optimizer)

    def run(seed, net_seed=0):
        net = nnlib.MLP([3, 16, 2], hidden="relu", output="softmax", seed=net_seed, dropout=0.5)
        h = net.fit(X, Y, seed=seed, **kw)
        return net.params.copy(), h.loss

    a, b, c = run(7), run(7), run(8)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    assert not np.allclose(a[0], c[0])
    # without a fit seed, the network's generator drives shuffles and masks: same net seed, same run
    np.testing.assert_array_equal(run(None, 3)[0], run(None, 3)[0])


@pytest.mark.parametrize("loss,output", [("mse", "sigmoid"), ("bce", "sigmoid"),
                                         ("cross_entropy", "softmax"), ("mse", "identity")])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_zero_rate_is_no_dropout(loss, output, optimizer):
    X, Y = _data(30, k=2)
    if output == "sigmoid" or output == "identity":
        Y = Y[:, :1]
    kw = dict(loss=loss, lr=0.05, epochs=10, batch_size=7, optimizer=optimizer, seed=1,
              validation_data=(X[:10], Y[:10]))
    ref = nnlib.MLP([3, 8, 6, Y.shape[1]], hidden="tanh", output=output, seed=2)
    h_ref = ref.fit(X, Y, **kw)
    for d in (0.0, (0.0, 0.0)):
        net = nnlib.MLP([3, 8, 6, Y.shape[1]], hidden="tanh", output=output, seed=2, dropout=d)
        h = net.fit(X, Y, **kw)
        np.testing.assert_allclose(net.params, ref.params, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(h.loss, h_ref.loss, rtol=1e-14)


@pytest.mark.parametrize("loss,output,k", [("mse", "tanh", 1), ("bce", "sigmoid", 2),
                                           ("cross_entropy", "softmax", 3)])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fit_with_dropout_trains_with_every_loss_and_optimiser(loss, output, k, optimizer):
    X, Y = _data(60, k=max(k, 2))
    Y = Y[:, :k] if k > 1 else Y[:, :1]
    if loss == "cross_entropy":
        Y = np.eye(3)[np.random.default_rng(0).integers(0, 3, 60)]
    net = nnlib.MLP([3, 32, 16, k], hidden="relu", output=output, seed=0, dropout=(0.2, 0.1))
    before = net.loss(X, Y, loss=loss)
    h = net.fit(X, Y, loss=loss, lr=0.01 if optimizer == "adam" else 0.1, epochs=60,
                batch_size=10, optimizer=optimizer, seed=0, validation_data=(X, Y))
    assert np.all(np.isfinite(h.loss)) and len(h.val_loss) == 60
    assert net.loss(X, Y, loss=loss) < before      # it learned (loss without dropout)
    # the validation loss is measured without dropout: it is the network's plain loss
    assert h.val_loss[-1] == pytest.approx(net.loss(X, Y, loss=loss), rel=1e-12)


def test_forward_and_predict_use_no_dropout():
    X, Y = _data()
    plain = nnlib.MLP([3, 6, 2], hidden="tanh", output="softmax", seed=0)
    drop = nnlib.MLP([3, 6, 2], hidden="tanh", output="softmax", seed=0, dropout=0.5)
    np.testing.assert_array_equal(plain.params, drop.params)   # dropout does not touch init
    np.testing.assert_array_equal(drop.forward(X), plain.forward(X))
    np.testing.assert_array_equal(drop.forward(X), drop.forward(X))   # deterministic
    np.testing.assert_array_equal(drop.predict(X), plain.predict(X))
    assert drop.loss(X, Y, loss="cross_entropy") == plain.loss(X, Y, loss="cross_entropy")
    # the full mask of ones is the network without dropout, scaled by 1/(1-p) (nothing dropped)
    ones = [np.ones((X.shape[0], 6))]
    H = np.tanh(X @ drop.layers[0].W + drop.layers[0].b) / 0.5
    Z = H @ drop.layers[1].W + drop.layers[1].b
    assert drop.loss(X, Y, loss="cross_entropy", mask=ones) == pytest.approx(
        nnlib.losses.cross_entropy(Z, Y), rel=1e-12)


def test_copy_keeps_the_rates():
    net = nnlib.MLP([3, 6, 5, 2], seed=0, dropout=[0.1, 0.4])
    assert net.copy().dropout == (0.1, 0.4) and net.dropout == (0.1, 0.4)
    assert nnlib.MLP([3, 6, 5, 2], seed=0, dropout=0.25).dropout == (0.25, 0.25)
    assert nnlib.MLP([3, 2], seed=0).dropout == ()
    assert "dropout=[0.1, 0.4]" not in repr(net) and "dropout=(0.1, 0.4)" in repr(net)
    assert "dropout=0.25" in repr(nnlib.MLP([3, 6, 5, 2], seed=0, dropout=0.25))


@pytest.mark.parametrize("dropout,error,words", [
    (1.0, ValueError, ["[0, 1)", "1.0"]),
    (-0.1, ValueError, ["[0, 1)", "-0.1"]),
    (1.5, ValueError, ["[0, 1)", "1.5"]),
    (float("nan"), ValueError, ["[0, 1)", "nan"]),
    ("0.5", TypeError, ["number", "'0.5'"]),
    (True, TypeError, ["number", "True"]),
    (None, TypeError, ["sequence", "None"]),
    ([0.1], ValueError, ["1 rate", "2 hidden layer"]),
    ([0.1, 0.2, 0.3], ValueError, ["3 rate", "2 hidden layer"]),
    ([0.1, 1.0], ValueError, ["dropout[1]", "[0, 1)"]),
])
def test_bad_rates_get_a_clear_error(dropout, error, words):
    with pytest.raises(error) as exc:
        nnlib.MLP([3, 6, 5, 2], dropout=dropout)
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


def test_no_hidden_layer_to_drop():
    with pytest.raises(ValueError, match="no hidden|has none"):
        nnlib.MLP([3, 2], dropout=0.5)


def test_bad_masks_get_a_clear_error():
    X, Y = _data()
    net = nnlib.MLP([3, 6, 5, 2], output="softmax", seed=0, dropout=(0.5, 0.0))
    good = net.dropout_mask(X.shape[0], seed=0)
    assert np.all(good[1] == 1.0)              # rate 0: all kept
    with pytest.raises(ValueError, match="one .* per hidden layer"):
        net.loss_and_grads(X, Y, loss="cross_entropy", mask=good[:1])
    with pytest.raises(ValueError, match=r"shape \(3, 6\).*expected \(12, 6\)"):
        net.loss_and_grads(X, Y, loss="cross_entropy", mask=[good[0][:3], good[1]])
    with pytest.raises(ValueError, match="only 0"):
        net.loss_and_grads(X, Y, loss="cross_entropy", mask=[good[0] * 0.5, good[1]])
    with pytest.raises(ValueError, match="rate is 0"):
        net.loss_and_grads(X, Y, loss="cross_entropy", mask=[good[0], good[0][:, :5]])


def test_relu_derivative_read_from_the_activation():
    """Dropout writes the thinned activation over Z; every f' is read from A. For relu,
    [A > 0] = [Z > 0], including z = 0 and -0.0 (both give f' = 0)."""
    Z = np.array([[-1.0, -0.0, 0.0, 1e-300, 2.0]])
    A = np.maximum(Z, 0.0)
    G = np.ones_like(Z)
    kernels.activation_backward(G, Z, A, nnlib.activations.RELU)
    np.testing.assert_array_equal(G, [[0.0, 0.0, 0.0, 1.0, 1.0]])


def test_float32_dropout_draws_the_same_masks_as_float64():
    """The masks come from the seed, not from the dtype: a float32 run follows the float64 one."""
    X, Y = _data(40)
    kw = dict(loss="cross_entropy", lr=0.05, epochs=10, batch_size=8, seed=4, momentum=0.9)
    n64 = nnlib.MLP([3, 16, 2], hidden="tanh", output="softmax", seed=0, dropout=0.3)
    n32 = nnlib.MLP([3, 16, 2], hidden="tanh", output="softmax", seed=0, dropout=0.3,
                    dtype="float32")
    h64, h32 = n64.fit(X, Y, **kw), n32.fit(X, Y, **kw)
    assert n32.params.dtype == np.float32
    np.testing.assert_allclose(h32.loss, h64.loss, rtol=1e-4)
    np.testing.assert_allclose(n32.params, n64.params, rtol=1e-4, atol=1e-5)
    mask = n64.dropout_mask(40, seed=1)
    v64, _ = n64.loss_and_grads(X, Y, loss="cross_entropy", mask=mask)
    v32, _ = n64.astype("float32").loss_and_grads(X, Y, loss="cross_entropy", mask=mask)
    assert v32 == pytest.approx(v64, rel=1e-5)
