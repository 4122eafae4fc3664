"""Optional parity with PyTorch (skipped when torch is not installed; it is not a requirement)."""
import numpy as np
import pytest

import nnlib

torch = pytest.importorskip("torch", reason="PyTorch is optional: parity test skipped without it")


def _torch_net(net):
    layers = []
    for i, layer in enumerate(net.layers):
        lin = torch.nn.Linear(layer.n_in, layer.n_out, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.W.T.copy()))   # torch stores (out, in)
            lin.bias.copy_(torch.from_numpy(layer.b.copy()))
        layers.append(lin)
        if i < len(net.layers) - 1:
            layers.append({"tanh": torch.nn.Tanh(), "relu": torch.nn.ReLU(),
                           "sigmoid": torch.nn.Sigmoid(), "identity": torch.nn.Identity()}[net.hidden])
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("hidden", ["tanh", "relu", "sigmoid"])
def test_cross_entropy_gradients_and_sgd_match_torch(hidden):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 4))
    labels = rng.integers(0, 3, 16)
    net = nnlib.MLP([4, 8, 3], hidden=hidden, output="softmax", seed=0)
    model = _torch_net(net)
    logits = model(torch.from_numpy(X))
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels))
    loss.backward()
    value, grads = net.loss_and_grads(X, nnlib.datasets.one_hot(labels, 3), loss="cross_entropy")
    assert value == pytest.approx(loss.item(), rel=1e-12)
    lins = [m for m in model if isinstance(m, torch.nn.Linear)]
    for (dW, db), lin in zip(grads, lins):
        np.testing.assert_allclose(dW, lin.weight.grad.numpy().T, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(db, lin.bias.grad.numpy(), rtol=1e-10, atol=1e-14)

    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    Y = nnlib.datasets.one_hot(labels, 3)
    net2 = nnlib.MLP([4, 8, 3], hidden=hidden, output="softmax", seed=0)
    net2.fit(X, Y, loss="cross_entropy", lr=0.1, momentum=0.9, epochs=3)
    model = _torch_net(nnlib.MLP([4, 8, 3], hidden=hidden, output="softmax", seed=0))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(labels)).backward()
        opt.step()
    lins = [m for m in model if isinstance(m, torch.nn.Linear)]
    for layer, lin in zip(net2.layers, lins):
        np.testing.assert_allclose(layer.W, lin.weight.detach().numpy().T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.b, lin.bias.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_adam_and_bce_match_torch():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 3))
    y = rng.integers(0, 2, (12, 1)).astype(float)
    net = nnlib.MLP([3, 5, 1], hidden="tanh", output="sigmoid", seed=1)
    model = torch.nn.Sequential(*_torch_net(net), torch.nn.Sigmoid())
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y)).backward()
        opt.step()
    net.fit(X, y, loss="bce", optimizer="adam", lr=0.01, epochs=5)
    lins = [m for m in model if isinstance(m, torch.nn.Linear)]
    for layer, lin in zip(net.layers, lins):
        np.testing.assert_allclose(layer.W, lin.weight.detach().numpy().T, rtol=1e-9, atol=1e-12)
