"""Finite-difference checks of every derivative, every loss gradient and whole networks, plus
hypothesis property tests of the activations, softmax and losses."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnlib
from nnlib import activations, losses, numerical_gradient, relative_error

TOL = 1e-6


def away_from_zero(shape, seed):
    """Values in +-[0.1, 2]: relu's kink at 0 is far from every point and its h-neighbourhood."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("name", ["identity", "sigmoid", "tanh", "relu"])
def test_activation_derivative_matches_central_difference(name):
    act = activations.get(name)
    z = away_from_zero(50, 0)
    numeric = numerical_gradient(lambda v: float(np.sum(act.f(v))), z.copy())
    assert relative_error(act.df(z), numeric) < TOL


def test_softmax_jacobian_matches_central_difference():
    rng = np.random.default_rng(1)
    z, w = rng.normal(size=(1, 5)), rng.normal(size=(1, 5))
    s = activations.softmax(z)
    analytic = s * (w - np.sum(w * s))                      # J^T w for J = diag(s) - s s^T
    numeric = numerical_gradient(lambda v: float(np.sum(w * activations.softmax(v))), z.copy())
    assert relative_error(analytic, numeric) < TOL


@pytest.mark.parametrize("loss", ["mse", "binary_cross_entropy", "cross_entropy"])
def test_loss_gradient_matches_central_difference(loss):
    rng = np.random.default_rng(2)
    value, grad = getattr(losses, loss), getattr(losses, loss + "_grad")
    if loss == "mse":
        a, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    elif loss == "binary_cross_entropy":
        a, y = rng.uniform(0.05, 0.95, (6, 3)), rng.integers(0, 2, (6, 3)).astype(float)
    else:
        a, y = rng.normal(size=(6, 4)), np.eye(4)[rng.integers(0, 4, 6)]
    numeric = numerical_gradient(lambda v: value(v, y), a.copy())
    assert relative_error(grad(a, y), numeric) < TOL


def test_loss_dict_and_integer_labels():
    z = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    assert losses.LOSSES["cross_entropy"][0] is losses.cross_entropy
    assert losses.cross_entropy(z, np.array([0, 2])) == pytest.approx(
        losses.cross_entropy(z, np.eye(3)[[0, 2]]))


@pytest.mark.parametrize("hidden", ["identity", "sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_whole_network_gradcheck(hidden, depth):
    sizes = [3] + [5] * (depth - 1) + [2]
    rng = np.random.default_rng(depth)
    X = rng.normal(size=(8, 3))
    for output, loss in [("identity", "mse"), ("softmax", "cross_entropy")]:
        net = nnlib.MLP(sizes, hidden=hidden, output=output, seed=depth)
        Y = rng.normal(size=(8, 2)) if output == "identity" else np.eye(2)[rng.integers(0, 2, 8)]
        if hidden == "relu":                         # no pre-activation within 1e-3 of the kink
            zs, _ = net.forward_trace(X)
            assert all(np.min(np.abs(z)) > 1e-3 for z in zs[:-1])
        assert nnlib.gradcheck(net, X, Y, loss=loss) < TOL


def test_gradcheck_bce_and_weight_decay():
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(10, 4)), rng.integers(0, 2, (10, 3)).astype(float)
    net = nnlib.MLP([4, 6, 3], hidden="tanh", output="sigmoid", seed=1)
    assert nnlib.gradcheck(net, X, Y, loss="bce") < TOL
    assert nnlib.gradcheck(net, X, Y, loss="bce", weight_decay=0.1) < TOL


def test_gradcheck_detects_a_wrong_gradient():
    f = lambda x: float(np.sum(x ** 3))
    x = np.array([1.0, -2.0, 0.5])
    assert relative_error(3 * x ** 2, numerical_gradient(f, x)) < 1e-8
    assert relative_error(2 * x ** 2, numerical_gradient(f, x)) > 0.1
    assert nnlib.relative_error([0.0], [0.0]) == 0.0


def test_dense_layer_backward_matches_central_difference():
    rng = np.random.default_rng(3)
    layer = nnlib.Dense(3, 4, activation="sigmoid", rng=0)
    X, G = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    layer.forward(X)
    dX = layer.backward(G)
    f = lambda _: float(np.sum(G * layer.forward(X)))
    assert relative_error(layer.dW, numerical_gradient(f, layer.W)) < TOL
    assert relative_error(layer.db, numerical_gradient(f, layer.b)) < TOL
    num_dX = numerical_gradient(lambda v: float(np.sum(G * layer.forward(v))), X.copy())
    assert relative_error(dX, num_dX) < TOL


# --------------------------------------------------------------------------- property tests
finite = st.floats(-1000, 1000, allow_nan=False, allow_infinity=False)
matrices = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=finite)


@settings(max_examples=60, deadline=None)
@given(matrices)
def test_softmax_rows_are_distributions(z):
    s = activations.softmax(z)
    assert s.shape == z.shape
    assert np.all(np.isfinite(s)) and np.all(s >= 0) and np.all(s <= 1)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(activations.softmax(z + 7.0), s, rtol=1e-9, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(matrices)
def test_activations_shapes_ranges_and_no_nan(z):
    for name in ["identity", "sigmoid", "tanh", "relu"]:
        act = activations.get(name)
        a, d = act.f(z), act.df(z)
        assert a.shape == z.shape and d.shape == z.shape
        assert np.all(np.isfinite(a)) and np.all(np.isfinite(d))
    s = activations.sigmoid.f(z)
    assert np.all((s >= 0) & (s <= 1))
    t = activations.tanh.f(z)
    assert np.all((t >= -1) & (t <= 1))
    np.testing.assert_allclose(t, np.tanh(z), rtol=1e-13, atol=1e-15)
    from scipy.special import expit
    np.testing.assert_allclose(s, expit(z), rtol=1e-13, atol=1e-300)
    assert np.all(activations.relu.f(z) >= 0)


def test_extremes():
    z = np.array([-1e300, -1000.0, -40.0, 0.0, 40.0, 1000.0, 1e300])
    assert np.all(np.isfinite(activations.sigmoid.f(z)))
    assert activations.sigmoid.f(-1000.0) == 0.0 and activations.sigmoid.f(1000.0) == 1.0
    assert activations.tanh.f(-1000.0) == -1.0 and activations.tanh.f(1000.0) == 1.0
    s = activations.softmax(np.array([[1000.0, -1000.0, 999.0]]))
    np.testing.assert_allclose(s, [[1 / (1 + np.exp(-1)), 0.0, 1 / (1 + np.e)]], rtol=1e-12)
    ce = losses.cross_entropy(np.array([[1000.0, -1000.0]]), np.array([[0.0, 1.0]]))
    assert ce == pytest.approx(2000.0)
    net = nnlib.MLP([1, 1], output="sigmoid", seed=0)
    net.params[:] = [1.0, 0.0]
    assert net.loss([[800.0]], [[0.0]], loss="bce") == pytest.approx(800.0)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 4)), elements=finite),
       st.integers(0, 2 ** 31))
def test_losses_nonnegative_and_zero_at_target(a, seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=a.shape)
    assert losses.mse(a, y) >= 0 and losses.mse(a, a) == 0
    p = activations.sigmoid.f(a / 1000.0)
    t = rng.integers(0, 2, a.shape).astype(float)
    assert np.isfinite(losses.binary_cross_entropy(p, t)) and losses.binary_cross_entropy(p, t) >= 0
    assert losses.cross_entropy(a, np.eye(a.shape[1])[rng.integers(0, a.shape[1], a.shape[0])]) >= 0
