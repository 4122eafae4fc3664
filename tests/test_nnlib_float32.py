"""``MLP(..., dtype="float32")``: training in float32 end to end (issue 14; chapter 9, sec-float32).

Parity with an independent float32 NumPy computation (and PyTorch float32 when it is installed) at
a float32 tolerance; every array of the training path stays float32; gradient checks refuse a
float32 network (they need float64); the float32 run follows the float64 one closely.
"""
from __future__ import annotations

import numpy as np
import pytest

import nnlib
from tests.test_nnlib_reference import ref_loss_grads

# float32 rounding is 2^-24 ~ 6e-8 per operation; sums over tens of terms and a few layers stay
# well inside 1e-5 relative. Gradients of units near 0 are compared with an absolute floor.
RTOL, ATOL = 2e-5, 1e-6


def _problem(n=32, sizes=(5, 16, 12, 3), seed=0):
    """Inputs N(0, 1); labels from a random linear teacher, argmax(X T), so there is something to
    learn."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    T = rng.normal(size=(sizes[0], sizes[-1]))
    return X, np.eye(sizes[-1])[np.argmax(X @ T, axis=1)]


@pytest.mark.parametrize("hidden", ["tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("loss,output", [("cross_entropy", "softmax"), ("mse", "sigmoid"),
                                         ("bce", "sigmoid")])
def test_loss_and_gradients_match_float32_numpy(hidden, loss, output):
    X, Y = _problem()
    net = nnlib.MLP([5, 16, 12, 3], hidden=hidden, output=output, seed=1, dtype="float32")
    assert net.params.dtype == np.float32 and net.dtype == np.float32
    value, grads = net.loss_and_grads(X, Y, loss=loss)
    assert all(g.dtype == np.float32 for pair in grads for g in pair)
    f32 = np.float32
    Ws = [la.W.copy() for la in net.layers]
    bs = [la.b.copy() for la in net.layers]
    ref_value, ref_grads = ref_loss_grads(Ws, bs, [hidden, hidden, output], X.astype(f32),
                                          Y.astype(f32), loss)
    assert ref_grads[0][0].dtype == np.float32            # the reference really ran in float32
    assert value == pytest.approx(float(ref_value), rel=RTOL)
    for (dW, db), (rW, rb) in zip(grads, ref_grads):
        np.testing.assert_allclose(dW, rW, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(db, rb, rtol=RTOL, atol=ATOL)
    # and both are float32 roundings of the float64 numbers
    value64, grads64 = net.astype("float64").loss_and_grads(X, Y, loss=loss)
    assert value == pytest.approx(value64, rel=RTOL)
    for (dW, _), (dW64, _) in zip(grads, grads64):
        np.testing.assert_allclose(dW, dW64, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_stays_float32_and_follows_float64(optimizer):
    X, Y = _problem(96)
    kw = dict(loss="cross_entropy", lr=0.05 if optimizer == "sgd" else 0.005, epochs=30,
              batch_size=16, optimizer=optimizer, seed=3, validation_data=(X[:20], Y[:20]))
    if optimizer == "sgd":
        kw["momentum"] = 0.9
    n64 = nnlib.MLP([5, 16, 12, 3], hidden="tanh", output="softmax", seed=2)
    n32 = nnlib.MLP([5, 16, 12, 3], hidden="tanh", output="softmax", seed=2, dtype="float32")
    np.testing.assert_array_equal(n32.params, n64.params.astype(np.float32))  # same start
    h64, h32 = n64.fit(X, Y, **kw), n32.fit(X, Y, **kw)
    assert n32.params.dtype == np.float32
    assert h32.loss[-1] < 0.5 * h32.loss[0]                     # it learned
    # 30 epochs x 6 steps of float32 rounding: here the trajectories agree to about 1e-6
    # relative (measured 1.2e-6 for SGD, 1.8e-7 for Adam); asserted with a margin
    np.testing.assert_allclose(h32.loss, h64.loss, rtol=1e-4)
    np.testing.assert_allclose(n32.params, n64.params, rtol=1e-4, atol=1e-5)
    assert n32.forward(X).dtype == np.float32
    np.testing.assert_array_equal(n32.predict(X), n64.predict(X))


def test_optimiser_classes_and_forward_trace_in_float32():
    X, Y = _problem()
    net = nnlib.MLP([5, 16, 12, 3], hidden="relu", output="softmax", seed=1, dtype="float32")
    zs, acts = net.forward_trace(X)
    assert all(a.dtype == np.float32 for a in zs + acts)
    np.testing.assert_array_equal(acts[-1], net.forward(X))
    for opt in (nnlib.SGD(net, lr=0.1, momentum=0.9), nnlib.Adam(net, lr=0.01)):
        before = net.loss(X, Y, loss="cross_entropy")
        for _ in range(5):
            opt.step(net.loss_and_grads(X, Y, loss="cross_entropy")[1])
        assert net.params.dtype == np.float32
        assert net.loss(X, Y, loss="cross_entropy") < before


def test_gradcheck_refuses_float32_and_works_on_a_float64_copy():
    X, Y = _problem(8)
    net = nnlib.MLP([5, 16, 12, 3], hidden="tanh", output="softmax", seed=1, dtype="float32")
    with pytest.raises(ValueError, match="float64.*float32|float32.*float64"):
        nnlib.gradcheck(net, X, Y, loss="cross_entropy")
    copy = net.astype("float64")
    assert copy.params.dtype == np.float64 and net.params.dtype == np.float32
    assert nnlib.gradcheck(copy, X, Y, loss="cross_entropy") < 1e-6
    # what central differences on the float32 network itself give: far from the gradient
    h, g32 = 1e-5, np.zeros(net.params.size)
    for i in range(net.params.size):
        old = net.params[i]
        net.params[i] = old + np.float32(h)
        fp = np.float32(net.loss(X, Y, loss="cross_entropy"))
        net.params[i] = old - np.float32(h)
        fm = np.float32(net.loss(X, Y, loss="cross_entropy"))
        net.params[i] = old
        g32[i] = (float(fp) - float(fm)) / (2 * h)
    _, g = copy.loss_and_grads(X, Y, loss="cross_entropy")
    err = nnlib.relative_error(np.concatenate([a.ravel() for p in g for a in p]), g32)
    assert err > 1e-3, err                   # "probably wrong" on chapter 6's scale


@pytest.mark.parametrize("dtype", ["float16", "int32", "complex64", None, "f"])
def test_bad_dtype_gets_a_clear_error(dtype):
    if dtype == "f":       # "f" is NumPy's code for float32: accepted
        assert nnlib.MLP([2, 3, 1], dtype=dtype).dtype == np.float32
        return
    with pytest.raises(ValueError, match="'float64', 'float32'") as exc:
        nnlib.MLP([2, 3, 1], dtype=dtype)
    assert repr(dtype) in str(exc.value)


def test_dtype_names_and_repr():
    assert nnlib.MLP([2, 3, 1]).dtype == np.float64
    assert nnlib.MLP([2, 3, 1], dtype=np.float32).dtype == np.float32
    assert "dtype='float32'" in repr(nnlib.MLP([2, 3, 1], dtype="float32"))
    assert "dtype" not in repr(nnlib.MLP([2, 3, 1]))


def test_float32_matches_torch_float32():
    torch = pytest.importorskip("torch", reason="PyTorch is optional: float32 parity with it "
                                                "is skipped when it is not installed")
    X, Y = _problem()
    net = nnlib.MLP([5, 16, 12, 3], hidden="tanh", output="softmax", seed=1, dtype="float32")
    mods = []
    for i, layer in enumerate(net.layers):
        lin = torch.nn.Linear(layer.n_in, layer.n_out, dtype=torch.float32)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.W.T.copy()))
            lin.bias.copy_(torch.from_numpy(layer.b.copy()))
        mods.append(lin)
        if i < len(net.layers) - 1:
            mods.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*mods)
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(X.astype(np.float32))),
                                             torch.from_numpy(Y.argmax(axis=1)))
    loss.backward()
    value, grads = net.loss_and_grads(X, Y, loss="cross_entropy")
    assert value == pytest.approx(loss.item(), rel=RTOL)
    lins = [m for m in mods if isinstance(m, torch.nn.Linear)]
    for (dW, db), lin in zip(grads, lins):
        np.testing.assert_allclose(dW, lin.weight.grad.numpy().T, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(db, lin.bias.grad.numpy(), rtol=RTOL, atol=ATOL)
