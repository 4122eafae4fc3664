"""Deferred import of the compiled modules, so that ``import nnlib`` does not import Numba.

Numba takes about 0.2 s to import; it is loaded on the first computation instead.
"""
from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands for module ``name``; imports it on first attribute access and caches attributes."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(importlib.import_module(self._name), attr)
        setattr(self, attr, value)
        return value


kernels = LazyModule("nnlib.kernels")
train_kernels = LazyModule("nnlib.train_kernels")
