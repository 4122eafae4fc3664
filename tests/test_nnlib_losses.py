"""The two implementations of each loss agree: the NumPy functions of ``nnlib.losses`` (what a
learner calls) and the compiled ``kernels.loss_and_delta`` (what the network trains with), values and
gradients, on random outputs of every output activation the loss may follow."""
import numpy as np
import pytest

import nnlib
from nnlib import kernels, losses

RTOL = 1e-12      # same formulas, summed in another order: a few units in the last place


def _outputs(loss, seed, n=9, k=4):
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=3.0, size=(n, k))
    if loss == "bce":
        A, Y = nnlib.activations.sigmoid.f(Z), rng.integers(0, 2, (n, k)).astype(float)
    elif loss == "cross_entropy":
        A, Y = nnlib.softmax(Z), np.eye(k)[rng.integers(0, k, n)]
    else:
        A, Y = np.tanh(Z), rng.normal(size=(n, k))
    return Z, A, Y


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("loss", ["mse", "bce", "cross_entropy"])
def test_numpy_and_compiled_losses_agree(loss, seed):
    Z, A, Y = _outputs(loss, seed)
    D = np.empty_like(A)
    compiled = kernels.loss_and_delta(losses.CODES[loss], Z, A, Y, D)
    assert kernels.loss_only(losses.CODES[loss], Z, A, Y) == compiled
    if loss == "mse":
        # compiled D = dL/dA (the output activation's f' is applied afterwards)
        value, grad = losses.mse(A, Y), losses.mse_grad(A, Y)
    elif loss == "bce":
        # compiled D = dL/dz (from the logits); NumPy gives dL/dp, and dp/dz = p (1 - p)
        value = losses.binary_cross_entropy(A, Y)
        grad = losses.binary_cross_entropy_grad(A, Y) * A * (1 - A)
    else:
        value, grad = losses.cross_entropy(Z, Y), losses.cross_entropy_grad(Z, Y)
    assert compiled == pytest.approx(value, rel=RTOL)
    np.testing.assert_allclose(D, grad, rtol=1e-10, atol=1e-15)


def test_the_network_loss_is_the_numpy_loss_of_its_output():
    X, y = nnlib.datasets.moons(30, seed=0)
    net = nnlib.MLP([2, 5, 1], hidden="tanh", output="sigmoid", seed=0)
    assert net.loss(X, y, loss="bce") == pytest.approx(
        losses.binary_cross_entropy(net.forward(X), y), rel=RTOL)
    assert net.loss(X, y, loss="mse") == pytest.approx(losses.mse(net.forward(X), y), rel=RTOL)
    soft = nnlib.MLP([2, 5, 2], hidden="relu", output="softmax", seed=0)
    Y = nnlib.datasets.one_hot(y.ravel().astype(int), 2)
    zs, _ = soft.forward_trace(X)
    assert soft.loss(X, Y, loss="cross_entropy") == pytest.approx(losses.cross_entropy(zs[-1], Y),
                                                                  rel=RTOL)


def test_codes_and_pairings_are_owned_by_the_loss_module():
    assert set(losses.CODES) == set(losses.LOSSES) == set(losses.PAIRINGS)
    assert sorted(losses.CODES.values()) == [0, 1, 2]
    assert losses.code_for("binary_cross_entropy", "sigmoid") == losses.BCE
    with pytest.raises(ValueError, match="loss='cross_entropy' does not fit output='sigmoid'"):
        losses.code_for("ce", "sigmoid")
