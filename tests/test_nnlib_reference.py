"""nnlib against an independent plain-NumPy reference (written from the formulas stated in the README's
conventions and the chapters, not from nnlib's code), and the same numbers with the JIT switched off."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnlib

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- reference implementation
def ref_act(name, z):
    if name == "identity":
        return z
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise KeyError(name)


def ref_dact(name, z):
    if name == "identity":
        return np.ones_like(z)
    if name == "sigmoid":
        s = ref_act("sigmoid", z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(z.dtype)
    raise KeyError(name)


def ref_forward(Ws, bs, acts, X):
    zs, As = [], [X]
    for W, b, a in zip(Ws, bs, acts):
        z = As[-1] @ W + b
        zs.append(z)
        As.append(ref_act(a, z))
    return zs, As


def ref_loss_grads(Ws, bs, acts, X, Y, loss, lam=0.0):
    zs, As = ref_forward(Ws, bs, acts, X)
    n, k = Y.shape
    out = As[-1]
    if loss == "mse":
        value = np.mean((out - Y) ** 2)
        delta = 2 * (out - Y) / (n * k) * ref_dact(acts[-1], zs[-1])
    elif loss == "bce":
        value = -np.mean(Y * np.log(out) + (1 - Y) * np.log(1 - out))
        delta = (out - Y) / (n * k)
    else:
        value = -np.sum(Y * np.log(out)) / n
        delta = (out - Y) / n
    value += 0.5 * lam * sum(np.sum(W ** 2) for W in Ws)
    grads = [None] * len(Ws)
    for l in range(len(Ws) - 1, -1, -1):
        dW = As[l].T @ delta + lam * Ws[l]
        db = delta.sum(axis=0)
        grads[l] = (dW, db)
        if l > 0:
            delta = (delta @ Ws[l].T) * ref_dact(acts[l - 1], zs[l - 1])
    return value, grads


def ref_init(sizes, hidden, seed):
    """Xavier uniform (or He normal for relu), drawn layer by layer from default_rng(seed)."""
    rng = np.random.default_rng(seed)
    Ws, bs = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if hidden == "relu":
            Ws.append(rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out)))
        else:
            a = np.sqrt(6.0 / (n_in + n_out))
            Ws.append(rng.uniform(-a, a, size=(n_in, n_out)))
        bs.append(np.zeros(n_out))
    return Ws, bs


CASES = [
    ([3, 5, 2], "tanh", "identity", "mse"),
    ([3, 4, 4, 1], "sigmoid", "sigmoid", "bce"),
    ([3, 6, 3], "relu", "softmax", "cross_entropy"),
    ([3, 4, 5, 2], "identity", "tanh", "mse"),
]


def _data(sizes, output, seed=1, n=7):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    k = sizes[-1]
    if output == "softmax":
        Y = np.eye(k)[rng.integers(0, k, n)]
    elif output == "sigmoid":
        Y = rng.integers(0, 2, (n, k)).astype(float)
    else:
        Y = rng.normal(size=(n, k))
    return X, Y


@pytest.mark.parametrize("sizes,hidden,output,loss", CASES)
def test_init_forward_backward_match_reference(sizes, hidden, output, loss):
    net = nnlib.MLP(sizes, hidden=hidden, output=output, seed=3)
    Ws, bs = ref_init(sizes, hidden, 3)
    for layer, W, b in zip(net.layers, Ws, bs):
        np.testing.assert_array_equal(layer.W, W)
        np.testing.assert_array_equal(layer.b, b)
    acts = [hidden] * (len(sizes) - 2) + [output]
    X, Y = _data(sizes, output)
    zs, As = ref_forward(Ws, bs, acts, X)
    np.testing.assert_allclose(net.forward(X), As[-1], rtol=1e-10, atol=1e-12)
    nzs, nAs = net.forward_trace(X)
    for a, b in zip(nzs, zs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for lam in (0.0, 0.01):
        value, grads = ref_loss_grads(Ws, bs, acts, X, Y, loss, lam)
        nvalue, ngrads = net.loss_and_grads(X, Y, loss=loss, weight_decay=lam)
        assert abs(nvalue - value) <= 1e-10 * max(1.0, abs(value))
        for (dW, db), (rW, rb) in zip(ngrads, grads):
            np.testing.assert_allclose(dW, rW, rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(db, rb, rtol=1e-10, atol=1e-12)
    assert abs(net.loss(X, Y, loss=loss) - ref_loss_grads(Ws, bs, acts, X, Y, loss)[0]) < 1e-10


def test_grads_are_fresh_not_accumulated():
    X, Y = _data([3, 5, 2], "identity")
    net = nnlib.MLP([3, 5, 2], output="identity", seed=0)
    _, g1 = net.loss_and_grads(X, Y)
    _, g2 = net.loss_and_grads(X, Y)
    for (a, b), (c, d) in zip(g1, g2):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
        assert not np.shares_memory(a, c)


@pytest.mark.parametrize("momentum,weight_decay", [(0.0, 0.0), (0.9, 0.0), (0.0, 0.05), (0.8, 0.01)])
def test_fit_full_batch_sgd_matches_reference(momentum, weight_decay):
    sizes = [3, 5, 2]
    X, Y = _data(sizes, "identity", n=9)
    net = nnlib.MLP(sizes, hidden="tanh", output="identity", seed=5)
    Ws, bs = ref_init(sizes, "tanh", 5)
    lr, steps = 0.1, 5
    vel = [(np.zeros_like(W), np.zeros_like(b)) for W, b in zip(Ws, bs)]
    losses = []
    for _ in range(steps):
        value, grads = ref_loss_grads(Ws, bs, ["tanh", "identity"], X, Y, "mse")
        losses.append(value)
        for l, ((dW, db), (vW, vb)) in enumerate(zip(grads, vel)):
            dW = dW + weight_decay * Ws[l]            # biases are not decayed
            vW[...] = momentum * vW + dW
            vb[...] = momentum * vb + db
            Ws[l] = Ws[l] - lr * vW
            bs[l] = bs[l] - lr * vb
    hist = net.fit(X, Y, loss="mse", lr=lr, epochs=steps, momentum=momentum,
                   weight_decay=weight_decay)
    np.testing.assert_allclose(hist.loss, losses, rtol=1e-10)
    for layer, W, b in zip(net.layers, Ws, bs):
        np.testing.assert_allclose(layer.W, W, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.b, b, rtol=1e-10, atol=1e-12)


def test_sgd_class_matches_fit_and_reference():
    sizes = [3, 4, 1]
    X, Y = _data(sizes, "sigmoid", n=6)
    a = nnlib.MLP(sizes, seed=2)
    b = a.copy()
    opt = nnlib.SGD(a, lr=0.3, momentum=0.9, weight_decay=0.01)
    for _ in range(4):
        _, grads = a.loss_and_grads(X, Y, loss="bce")
        opt.step(grads)
    b.fit(X, Y, loss="bce", lr=0.3, epochs=4, momentum=0.9, weight_decay=0.01)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12, atol=1e-14)


def test_adam_matches_reference():
    sizes = [3, 4, 1]
    X, Y = _data(sizes, "sigmoid", n=6)
    net = nnlib.MLP(sizes, seed=2)
    Ws, bs = ref_init(sizes, "tanh", 2)
    params = [p for W, b in zip(Ws, bs) for p in (W, b)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    for t in range(1, 6):
        _, grads = ref_loss_grads(params[0::2], params[1::2], ["tanh", "sigmoid"], X, Y, "bce")
        g = [x for pair in grads for x in pair]
        for i in range(len(params)):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            mhat, vhat = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
            params[i] = params[i] - lr * mhat / (np.sqrt(vhat) + eps)
    net.fit(X, Y, loss="bce", optimizer="adam", lr=lr, epochs=5)
    np.testing.assert_allclose(net.params, np.concatenate([p.ravel() for p in params]),
                               rtol=1e-10, atol=1e-12)


_SCRIPT = r"""
import json, sys, numpy as np, nnlib
out = {}
X, y = nnlib.datasets.xor()
net = nnlib.MLP([2, 4, 1], hidden="tanh", output="sigmoid", seed=0)
out["forward"] = net.forward(X).ravel().tolist()
loss, grads = net.loss_and_grads(X, y, loss="mse", weight_decay=0.01)
out["loss"] = loss
out["grads"] = np.concatenate([g.ravel() for p in grads for g in p]).tolist()
h = net.fit(X, y, loss="mse", lr=0.5, epochs=50, momentum=0.5, batch_size=2, seed=1)
out["fit_params"] = net.params.tolist()
out["fit_loss"] = h.loss
Xs, ys = nnlib.datasets.moons(40, seed=1)
net2 = nnlib.MLP([2, 6, 5, 2], hidden="relu", output="softmax", seed=4)
h2 = net2.fit(Xs, nnlib.datasets.one_hot(ys.ravel().astype(int), 2), loss="cross_entropy",
              lr=0.05, epochs=20, optimizer="adam", batch_size=8, seed=2)
out["adam_params"] = net2.params.tolist()
net3 = nnlib.MLP([2, 7, 5, 2], hidden="relu", output="softmax", seed=5, dropout=(0.3, 0.5))
Y3 = nnlib.datasets.one_hot(ys.ravel().astype(int), 2)
h3 = net3.fit(Xs, Y3, loss="cross_entropy", lr=0.05, epochs=10, batch_size=8, seed=3,
              momentum=0.9, validation_data=(Xs[:10], Y3[:10]))
out["dropout_params"] = net3.params.tolist()
out["dropout_val_loss"] = h3.val_loss
mask = net3.dropout_mask(40, seed=6)
out["dropout_grads"] = np.concatenate(
    [g.ravel() for p in net3.loss_and_grads(Xs, Y3, loss="cross_entropy", mask=mask)[1]
     for g in p]).tolist()
net4 = nnlib.MLP([2, 7, 2], hidden="tanh", output="softmax", seed=5, dtype="float32")
net4.fit(Xs, Y3, loss="cross_entropy", lr=0.05, epochs=10, batch_size=8, seed=3, optimizer="adam")
out["float32_params"] = net4.params.astype(float).tolist()
out["sig"] = nnlib.activations.sigmoid.f(np.linspace(-800, 800, 9)).tolist()
out["softmax"] = nnlib.softmax(np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])).ravel().tolist()
json.dump(out, sys.stdout)
"""


def _run(jit_off):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("NUMBA_DISABLE_JIT", None)
    if jit_off:
        env["NUMBA_DISABLE_JIT"] = "1"
    res = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_same_numbers_with_jit_disabled():
    jit, nojit = _run(False), _run(True)
    for key in jit:
        if key.startswith("float32"):    # float32 rounding (about 6e-8) differs between the two
            np.testing.assert_allclose(np.array(nojit[key]), np.array(jit[key]), rtol=1e-4,
                                       atol=1e-5, err_msg=key)
            continue
        np.testing.assert_allclose(np.array(nojit[key]), np.array(jit[key]), rtol=1e-9, atol=1e-12,
                                   err_msg=key)
