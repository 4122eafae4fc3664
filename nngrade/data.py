"""Values that cross a boundary: JSON for the public tests, .npy files for the sandbox.

Test arguments and results are NumPy arrays, Python scalars (float, int, bool, str) or lists /
tuples of those. Two encodings are used:

* JSON (the public tests shipped to students): arrays as ``{"__nd__": [...], "dtype": ...}``;
  Python floats keep every digit because ``json`` writes ``repr(float)``.
* ``.npy`` files (grader <-> sandboxed student process), always read with
  ``np.load(allow_pickle=False)`` so that no student-made file can execute code in the grader.
"""
from __future__ import annotations

import copy
import os
import stat
from typing import Any

import numpy as np

MAX_NPY_BYTES = 32 * 1024 * 1024


# --- JSON -----------------------------------------------------------------------------------

def to_json(value: Any) -> Any:
    """Encode a test value as JSON-compatible data."""
    if isinstance(value, np.ndarray):
        return {"__nd__": value.tolist(), "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [to_json(v) for v in value]}
    if isinstance(value, list):
        return {"__list__": [to_json(v) for v in value]}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot encode a {type(value).__name__} as a test value")


def from_json(data: Any) -> Any:
    """Decode what :func:`to_json` produced."""
    if isinstance(data, dict):
        if "__nd__" in data:
            return np.array(data["__nd__"], dtype=np.dtype(data["dtype"])).reshape(data["shape"])
        if "__tuple__" in data:
            return tuple(from_json(v) for v in data["__tuple__"])
        if "__list__" in data:
            return [from_json(v) for v in data["__list__"]]
        return {k: from_json(v) for k, v in data.items()}
    return data


def fresh(value: Any) -> Any:
    """A deep copy, so that a function under test cannot modify the caller's data."""
    return copy.deepcopy(value)


# --- .npy files ------------------------------------------------------------------------------

def write_value(value: Any, directory: str, stem: str) -> Any:
    """Save ``value`` as one or more .npy files named after ``stem``; return a JSON spec of them."""
    if isinstance(value, (list, tuple)):
        return {"list": [write_value(v, directory, f"{stem}.{k}") for k, v in enumerate(value)],
                "tuple": isinstance(value, tuple)}
    arr = np.asarray(value)
    if arr.dtype == object:
        raise TypeError(f"cannot send a {type(value).__name__} to the sandbox")
    name = f"{stem}.npy"
    np.save(os.path.join(directory, name), arr, allow_pickle=False)
    return {"npy": name, "scalar": not isinstance(value, np.ndarray)}


def read_text(path: str, limit: int = 600) -> str | None:
    """The start of a text file written by untrusted code (no symlinks); None if absent."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return None
        return fh.read(limit).decode("utf-8", "replace")


def read_npy(path: str) -> np.ndarray:
    """Read a .npy file written by untrusted code: no symlinks, size-capped, no pickles."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_NPY_BYTES:
            raise ValueError("not a regular file of reasonable size")
        return np.load(fh, allow_pickle=False)
