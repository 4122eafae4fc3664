"""Compare an answer with the expected value and say, in plain words, what is wrong.

Used by both sides: the student's ``check`` (feedback only) and the grader (which alone decides
scores, in its own process). :func:`diagnose` returns a :class:`Verdict` whose ``kind`` is one of
:data:`KINDS`; wrong answers declared in a source notebook name the kind they must produce.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = {
    "pass": "passed",
    "shape": "wrong shape",
    "transposed": "looks transposed",
    "values": "wrong values",
    "batch": "off by a factor of the batch size",
    "sign": "sign flipped",
    "nan": "NaN or inf produced",
    "type": "wrong type",
    "input_modified": "input array modified",
    "exception": "raised an exception",
    "not_implemented": "not implemented yet",
    "timeout": "too slow (timed out)",
    "missing": "answer missing",
    "nnlib": "uses nnlib",
}

_SHAPE_ERROR = re.compile(r"mismatch in its core dimension|not aligned|could not be broadcast|"
                          r"operands could not|shapes .* and .*", re.I)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one test: ``ok``, a machine-readable ``kind`` and a plain-words message."""

    ok: bool
    kind: str
    message: str


PASS = Verdict(True, "pass", "passed")


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _as_float_array(value: Any) -> np.ndarray | None:
    try:
        arr = np.asarray(value)
    except Exception:
        return None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        return None
    return arr.astype(np.float64)


def _batch_sizes(args: dict[str, Any] | None) -> set[int]:
    sizes: set[int] = set()
    for v in (args or {}).values():
        if isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[0] > 1:
            sizes.add(int(v.shape[0]))
    return sizes


def compare_array(expected: np.ndarray, got: Any, *, rtol: float, atol: float,
                  args: dict[str, Any] | None = None, what: str = "your result") -> Verdict:
    """Diagnose one array result against the expected array."""
    exp = np.asarray(expected, dtype=np.float64)
    arr = _as_float_array(got)
    if arr is None:
        return Verdict(False, "type", f"{what} is a {type(got).__name__}, expected a numeric array "
                                      f"of shape {exp.shape}")
    close = lambda a, b: a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))
    if arr.shape != exp.shape:
        if arr.size == exp.size and arr.ndim == 2 and close(arr.T, exp):
            return Verdict(False, "transposed", f"{what} looks transposed: shape {arr.shape}, "
                                                f"expected {exp.shape}")
        hint = ""
        if arr.size == exp.size and close(arr.reshape(exp.shape), exp):
            hint = " (the numbers are right: reshape or drop the extra axis)"
        return Verdict(False, "shape", f"wrong shape: expected {exp.shape}, got {arr.shape}{hint}")
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(exp)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        return Verdict(False, "nan", f"{what} contains NaN or inf (first at index {bad}); "
                                     f"an overflow, a division by zero or log(0)?")
    if close(arr, exp):
        return PASS
    if exp.ndim == 2 and exp.shape[0] == exp.shape[1] and close(arr.T, exp):
        return Verdict(False, "transposed", f"{what} looks transposed")
    if np.any(np.abs(exp) > atol) and close(-arr, exp):
        return Verdict(False, "sign", f"sign flipped: {what} is minus the expected value")
    mask = np.abs(exp) > 1e-12
    if mask.any():
        ratio = float(np.median(arr[mask] / exp[mask]))
        if np.isfinite(ratio) and abs(ratio) > 1e-12 and abs(ratio - 1) > 1e-6 \
                and close(arr, ratio * exp):
            for n in sorted(_batch_sizes(args)):
                if abs(ratio - n) < 1e-6 * n or abs(ratio * n - 1) < 1e-6:
                    more = "too large" if ratio > 1 else "too small"
                    return Verdict(False, "batch", f"off by a factor of the batch size N = {n} "
                                   f"({what} is {more}): average over the batch exactly once")
            if mask.sum() >= 2:
                return Verdict(False, "values", f"wrong values: off by a constant factor "
                                                f"{_fmt(ratio)}")
    err = np.abs(arr - exp)
    idx = np.unravel_index(int(np.nanargmax(np.where(np.isnan(err), np.inf, err))), exp.shape)
    where = f" at index {tuple(int(i) for i in idx)}" if exp.ndim else ""
    return Verdict(False, "values", f"wrong values: largest error {_fmt(float(err[idx]))}{where} "
                                    f"(expected {_fmt(float(exp[idx]))}, got {_fmt(float(arr[idx]))})")


def compare(expected: Any, got: Any, *, rtol: float = 1e-7, atol: float = 1e-9,
            args: dict[str, Any] | None = None) -> Verdict:
    """Diagnose a result that is an array, a scalar, or a list/tuple of arrays."""
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            n = len(got) if isinstance(got, (list, tuple)) else "not a list"
            return Verdict(False, "type", f"expected a list of {len(expected)} arrays, got {n}")
        for k, (e, g) in enumerate(zip(expected, got)):
            v = compare_array(e, g, rtol=rtol, atol=atol, args=args, what=f"item {k}")
            if not v.ok:
                return Verdict(False, v.kind, f"item {k}: {v.message}")
        return PASS
    return compare_array(np.asarray(expected), got, rtol=rtol, atol=atol, args=args)


def modified_inputs(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names of array arguments whose contents changed during the call."""
    changed = []
    for name, old in before.items():
        new = after.get(name, old)
        olds = old if isinstance(old, (list, tuple)) else [old]
        news = new if isinstance(new, (list, tuple)) else [new]
        for o, n in zip(olds, news):
            if isinstance(o, np.ndarray) and not (isinstance(n, np.ndarray) and o.shape == n.shape
                                                  and np.array_equal(o, n, equal_nan=True)):
                changed.append(name)
                break
    return changed


def input_modified(names: Iterable[str]) -> Verdict:
    names = ", ".join(f"`{n}`" for n in names)
    return Verdict(False, "input_modified", f"input array modified in place: {names} changed; "
                   f"work on a copy (e.g. `x = x.copy()` or `np.maximum(x, 0)`), not on the caller's array")


def exception(type_name: str, message: str) -> Verdict:
    """A verdict for an exception raised by the answer."""
    message = " ".join(message.split())[:300]
    if type_name == "NotImplementedError":
        return Verdict(False, "not_implemented", "not implemented yet")
    if _SHAPE_ERROR.search(message):
        return Verdict(False, "transposed", f"raised {type_name}: {message} -- the shapes do not "
                       f"line up inside your function: is a weight matrix transposed? "
                       f"W has shape (n_in, n_out), so Z = X @ W + b")
    return Verdict(False, "exception", f"raised {type_name}: {message}")
