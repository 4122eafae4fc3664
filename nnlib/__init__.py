"""nnlib: the small Numba-compiled reference library of the course *Inside Neural Networks*::

    import nnlib
    X, y = nnlib.datasets.xor()
    net = nnlib.MLP([2, 4, 1], hidden="tanh", output="sigmoid", seed=0)
    history = net.fit(X, y, loss="mse", lr=0.5, epochs=2000)
    nnlib.gradcheck(net, X, y, loss="mse")

Modules, one concept each: activations, losses, layers (and initialisation), mlp, optim, train,
numgrad (numerical gradients and ``gradcheck``), metrics, datasets; kernels and train_kernels
(compiled); course (helpers the chapters share); viz (course figures; imported on first use of
``nnlib.viz``); autodiff (a scalar reverse-mode engine, chapter 11); recipe (the training recipe's
checks, chapter 12); playground (the playground page's runs and player).
"""
from __future__ import annotations

from typing import Any

from . import activations, datasets, layers, losses, metrics, optim
from .activations import softmax
from .layers import Dense
from .metrics import accuracy
from .mlp import MLP
from .numgrad import gradcheck, numerical_gradient, relative_error
from .optim import SGD, Adam
from .train import History, TrainingDiverged, fit

__version__ = "0.1.0"

__all__ = ["MLP", "Dense", "SGD", "Adam", "History", "TrainingDiverged", "fit", "gradcheck",
           "numerical_gradient", "relative_error", "accuracy", "softmax", "activations", "losses",
           "layers", "optim", "metrics", "datasets", "warmup"]


def warmup(dtypes: tuple[str, ...] = ("float64", "float32")) -> None:
    """Compile (or load from Numba's cache) every kernel now, for each of ``dtypes``, e.g. once
    before running notebooks in parallel; afterwards the first call of each function is fast.
    (Without it, each kernel compiles on its first use, for the dtype it meets, and only the
    activations, loss and products the network uses: see :func:`nnlib.kernels.variant`. warmup
    compiles the variants that have everything, which ``fit`` and ``forward`` then use for every
    network: the same numbers.)"""
    from . import _notice
    _notice._force_generic = True
    try:
        _warmup(dtypes)
    finally:
        _notice._force_generic = False
        _notice._chosen.clear()


def _warmup(dtypes: tuple[str, ...]) -> None:
    X, y = datasets.xor()
    for dtype in dtypes:
        for hidden, output, loss in [("tanh", "sigmoid", "mse"), ("relu", "softmax", "cross_entropy")]:
            net = MLP([2, 3, 2 if output == "softmax" else 1], hidden=hidden, output=output, seed=0,
                      dtype=dtype, dropout=0.1)
            Y = datasets.one_hot(y.ravel().astype(int), 2) if output == "softmax" else y
            net.forward(X)
            net.loss_and_grads(X, Y, loss=loss)
            net.loss_and_grads(X, Y, loss=loss, mask=net.dropout_mask(4, seed=0))
            net.fit(X, Y, loss=loss, epochs=1, validation_data=(X, Y), optimizer="adam")
            net.fit(X, Y, loss=loss, epochs=1, batch_size=2)
            plain = MLP(net.sizes, hidden=hidden, output=output, seed=0, dtype=dtype)
            plain.fit(X, Y, loss=loss, epochs=1)                      # the compiled variants of
            plain.fit(X, Y, loss=loss, epochs=1, optimizer="adam")    # fit: {SGD, Adam} x {no
            # dropout, dropout} (each pattern of None in train_epochs' last arguments compiles once)
            SGD(net, lr=0.1).step(net.loss_and_grads(X, Y, loss=loss)[1])
            Adam(net, lr=0.1).step(net.loss_and_grads(X, Y, loss=loss)[1])
            net.forward_trace(X)
            net.loss(X, Y, loss=loss)
    activations.sigmoid.df(X)
    softmax(X)
    layer = Dense(2, 2, rng=0)
    layer.backward(layer.forward(X))
    SGD(net, lr=0.1).step(net.loss_and_grads(X, Y, loss=loss)[1])


def __getattr__(name: str) -> Any:
    # nnlib.viz imports matplotlib, so it is loaded only when first used.
    if name == "viz":
        import importlib
        return importlib.import_module(".viz", __name__)
    raise AttributeError(f"module 'nnlib' has no attribute {name!r}")
