"""Values that cross a boundary: JSON for the public tests, .npy files for the sandbox.

Test arguments and results are NumPy arrays, Python scalars (float, int, bool, str) or lists /
tuples of those. Two encodings are used:

* JSON (the public tests shipped to students): arrays as ``{"__nd__": [...], "dtype": ...}``;
  Python floats keep every digit because ``json`` writes ``repr(float)``.
* ``.npy`` files (grader <-> sandboxed student process). Files written by the sandbox are
  untrusted input, read by :func:`read_npy` and :func:`read_text`: opened without following
  symlinks and without blocking, refused unless ``fstat`` says a regular file of a size within
  :mod:`nngrade.protocol`'s limits, the .npy header parsed (bounded) and checked against the file
  size *before* any array is allocated, numbers only, never a pickle.
"""
from __future__ import annotations

import copy
import json
import os
import stat
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from . import protocol


class BadResult(ValueError):
    """A file written by the sandbox is not what the protocol allows; the message says why."""


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


def same_json(a: Any, b: Any, *, rtol: float = 1e-9, atol: float = 1e-12, where: str = "") -> str | None:
    """Where two decoded JSON trees differ (None: the same), floats compared with
    ``|a - b| <= atol + rtol * |b|``: the last digits of a computed float may differ between
    processors, BLAS kernels and SIMD paths, so generated data are never compared byte for byte."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{where or 'top'}: keys {sorted(set(a) ^ set(b))} differ"
        for k in sorted(a):
            why = same_json(a[k], b[k], rtol=rtol, atol=atol, where=f"{where}/{k}")
            if why:
                return why
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where}: length {len(a)} != {len(b)}"
        for k, (x, y) in enumerate(zip(a, b)):
            why = same_json(x, y, rtol=rtol, atol=atol, where=f"{where}[{k}]")
            if why:
                return why
        return None
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) \
                and not isinstance(a, bool) and not isinstance(b, bool) \
                and abs(a - b) <= atol + rtol * abs(b):
            return None
        return f"{where}: {a!r} != {b!r}"
    return None if (type(a) is type(b) and a == b) else f"{where}: {a!r} != {b!r}"


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


def _open_regular(path: str, limit: int) -> tuple[int, int] | None:
    """(fd, size) of a regular file of at most ``limit`` bytes; None if there is no such name.
    Never follows a symlink and never blocks (a FIFO opened with O_NONBLOCK returns at once)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: a symlink; others: permissions, ...
        raise BadResult(f"{os.path.basename(path)} cannot be opened ({exc.strerror})") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise BadResult(f"{os.path.basename(path)} is not a regular file")
    if info.st_size > limit:
        os.close(fd)
        raise BadResult(f"{os.path.basename(path)} is larger than {limit} bytes")
    return fd, info.st_size


def read_text(path: str, limit: int = protocol.MAX_TEXT_BYTES) -> str | None:
    """The start of a text file written by untrusted code; None if absent or not a regular file."""
    try:
        opened = _open_regular(path, 1 << 62)
    except BadResult:
        return None
    if opened is None:
        return None
    with os.fdopen(opened[0], "rb") as fh:
        return fh.read(limit).decode("utf-8", "replace")


def read_json(path: str) -> dict[str, Any] | None:
    """A small JSON object written by untrusted code (an ``.err`` record); None if absent,
    unreadable, too big or not an object."""
    text = read_text(path)
    if text is None or len(text) >= protocol.MAX_TEXT_BYTES:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def read_npy(path: str, max_bytes: int = protocol.MAX_RESULT_BYTES) -> np.ndarray:
    """Read a .npy file written by untrusted code: numbers only, header checked against the
    file size before anything is allocated. Raises FileNotFoundError if absent, BadResult if
    it is not a well-formed numeric .npy file of at most ``max_bytes``."""
    opened = _open_regular(path, max_bytes + protocol.MAX_NPY_HEADER)
    if opened is None:
        raise FileNotFoundError(path)
    fd, size = opened
    name = os.path.basename(path)
    with os.fdopen(fd, "rb") as fh:
        try:
            version = npy_format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = npy_format.read_array_header_1_0(
                    fh, max_header_size=protocol.MAX_NPY_HEADER)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = npy_format.read_array_header_2_0(
                    fh, max_header_size=protocol.MAX_NPY_HEADER)
            else:
                raise BadResult(f"{name}: unknown .npy version {version}")
        except BadResult:
            raise
        except Exception as exc:  # ValueError, EOFError, SyntaxError from the header parser
            raise BadResult(f"{name}: not a .npy file ({type(exc).__name__})") from exc
        if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
            raise BadResult(f"{name}: an array of dtype {dtype}, expected numbers")
        if not all(isinstance(n, int) and n >= 0 for n in shape) or len(shape) > 32:
            raise BadResult(f"{name}: invalid shape {shape}")
        count = 1
        for n in shape:
            count *= n
        want = count * dtype.itemsize
        if want > max_bytes:
            raise BadResult(f"an array of shape {shape}, too large to be a result")
        if size - fh.tell() != want:
            raise BadResult(f"{name}: the header announces {want} bytes of data, the file has "
                            f"{size - fh.tell()}")
        data = fh.read(want)
        if len(data) != want:
            raise BadResult(f"{name}: truncated")
    arr = np.frombuffer(data, dtype=dtype, count=count).copy()
    return arr.reshape(shape, order="F" if fortran else "C")


def read_result(out: str, stem: str, depth: int = 0) -> Any:
    """A result as the runner wrote it (:mod:`nngrade.protocol`): an array, or a list/tuple
    described by ``<stem>.len``. Raises FileNotFoundError if there is none, BadResult if the
    files are malformed."""
    text = read_text(os.path.join(out, stem + ".len"), 64)
    if text is None:
        return read_npy(os.path.join(out, stem + ".npy"))
    kind, _, count = text.strip().partition(" ")
    if kind not in ("list", "tuple") or not count.isdigit() or int(count) > protocol.MAX_RESULT_ITEMS \
            or depth >= protocol.MAX_RESULT_DEPTH:
        raise BadResult(f"{stem}.len: malformed ({text[:40]!r})")
    items = []
    total = 0
    for k in range(int(count)):
        try:
            item = read_result(out, f"{stem}.{k}", depth + 1)
        except FileNotFoundError:
            raise BadResult(f"item {k} of the returned list is missing") from None
        total += getattr(item, "nbytes", 0)
        if total > protocol.MAX_RESULT_BYTES:
            raise BadResult("the returned list is too large to be a result")
        items.append(item)
    return tuple(items) if kind == "tuple" else items
