"""Contender: PyTorch CPU, ``nn.Sequential`` of ``nn.Linear`` layers with ``torch.optim.SGD``.

float64 like nnlib, or float32 when ``spec["dtype"]`` is "float32" (compared with nnlib's float32);
the loss is ``nn.MSELoss`` on the sigmoid output or ``nn.CrossEntropyLoss`` on the
logits (softmax inside the loss), both mean-reduced as in nnlib. ``nn.Linear`` stores W^T.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .common import unflatten

_ACT = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU}


class Contender:
    name = "torch"

    def __init__(self, spec: dict, X: np.ndarray, Y: np.ndarray, perms: np.ndarray,
                 params0: np.ndarray, shuffle_seed: int) -> None:
        self.spec, self.params0 = spec, params0
        sizes = spec["sizes"]
        self.np_dtype = np.dtype(spec.get("dtype", "float64"))
        dtype = torch.float32 if self.np_dtype == np.float32 else torch.float64
        X, Y = X.astype(self.np_dtype), Y.astype(self.np_dtype)
        mods: list[nn.Module] = []
        for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            mods.append(nn.Linear(a, b, dtype=dtype))
            if l < len(sizes) - 2:
                mods.append(_ACT[spec["hidden"]]())
        if spec["loss"] == "mse":
            mods.append(_ACT[spec["output"]]())
            self.lossf = nn.MSELoss()
            self.Y = torch.from_numpy(Y)
        else:  # class indices; equivalent to one-hot targets
            self.lossf = nn.CrossEntropyLoss()
            self.Y = torch.from_numpy(Y.argmax(axis=1))
        self.model = nn.Sequential(*mods)
        self.linears = [m for m in mods if isinstance(m, nn.Linear)]
        self.X = torch.from_numpy(X)
        self.perms = torch.from_numpy(perms)
        self.losses: list[float] = []

    def _load(self) -> None:
        with torch.no_grad():
            for lin, (W, b) in zip(self.linears, unflatten(self.params0, self.spec["sizes"])):
                lin.weight.copy_(torch.from_numpy(W.T.astype(self.np_dtype)))
                lin.bias.copy_(torch.from_numpy(b.astype(self.np_dtype)))

    def prepare(self) -> None:
        self._load()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=self.spec["lr"],
                                   momentum=self.spec["momentum"])

    def run(self, epochs: int | None = None) -> None:
        s, opt = self.spec, self.opt
        N, batch = self.X.shape[0], s["batch"]
        model, lossf = self.model, self.lossf
        self.losses = []
        for e in range(epochs or s["epochs"]):
            idx = self.perms[e]
            total = 0.0
            for start in range(0, N, batch):
                if batch >= N:
                    xb, yb = self.X, self.Y
                else:
                    rows = idx[start:start + batch]
                    xb, yb = self.X[rows], self.Y[rows]
                opt.zero_grad(set_to_none=True)
                loss = lossf(model(xb), yb)
                loss.backward()
                opt.step()
                total += loss.item() * xb.shape[0]
            self.losses.append(total / N)

    def params(self) -> np.ndarray:
        parts = []
        for lin in self.linears:
            parts += [lin.weight.detach().numpy().T.ravel(), lin.bias.detach().numpy()]
        return np.concatenate(parts).astype(np.float64)
