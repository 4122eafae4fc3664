"""Compare an answer with the expected value and say, in plain words, what is wrong.

Used by both sides: the student's ``check`` (feedback only) and the grader (which alone decides
scores, in its own process). :func:`compare` returns a :class:`Verdict` whose ``kind`` is one of
:data:`KINDS`; wrong answers declared in a source notebook name the kind they must produce.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .i18n import Text, render

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

    def text(self, translate: Callable[[str], str] = str) -> str:
        """The message in the language of ``translate`` (see :func:`nngrade.i18n.render`)."""
        return render(self.message, translate)


PASS = Verdict(True, "pass", Text("passed"))


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _pair(expected: float, got: float) -> tuple[str, str]:
    """The two numbers printed with as many digits as it takes to see that they differ."""
    for digits in (6, 10, 17):
        e, g = f"{expected:.{digits}g}", f"{got:.{digits}g}"
        if e != g:
            break
    return e, g


def _as_float_array(value: Any) -> np.ndarray | None:
    try:
        arr = np.asarray(value)
    except Exception:
        return None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        return None
    return arr.astype(np.float64)


#: A result of a lower-precision float type whose values agree with the expected ones to this
#: relative tolerance is diagnosed as a precision (dtype) mistake, not as wrong values.
LOW_PRECISION_RTOL = 1e-4


def batch_size(args: dict[str, Any] | None) -> int | None:
    """The batch size N of a call: the leading dimension of the 2-D array arguments that hold
    examples (X, Y, A, delta...). Weight matrices are told apart because their leading dimension
    is another argument's trailing one (W has shape (n_in, n_out), X (N, n_in)); a leading
    dimension shared by several arguments (X and y) counts more. None when nothing decides."""
    score: dict[int, int] = {}
    trailing: dict[int, int] = {}
    for v in (args or {}).values():
        if isinstance(v, np.ndarray) and v.ndim == 2:
            score[v.shape[0]] = score.get(v.shape[0], 0) + 1
            trailing[v.shape[1]] = trailing.get(v.shape[1], 0) + 1
    for v in (args or {}).values():
        if isinstance(v, np.ndarray) and v.ndim == 1 and v.shape[0] in score:
            score[v.shape[0]] += 1
    ranked = sorted(((s - trailing.get(n, 0), n) for n, s in score.items() if n > 1), reverse=True)
    if not ranked or ranked[0][0] < 1 or (len(ranked) > 1 and ranked[1][0] == ranked[0][0]):
        return None
    return ranked[0][1]


def _batch_verdict(ratio: float, args: dict[str, Any] | None, what: str,
                   shape: tuple[int, ...]) -> Verdict | None:
    """Name a factor N (batch size), N*K (entries of an (N, K) argument) or K (outputs per
    example) that the result is off by, or None."""
    n = batch_size(args)
    if n is None:
        return None
    near = lambda f: abs(ratio - f) < 1e-6 * f or abs(ratio * f - 1) < 1e-6
    more = Text("too large") if ratio > 1 else Text("too small")
    # (N, K) arguments that hold outputs (Y, A, delta), not inputs: an input's width n_in is a
    # weight matrix's height; and the (N, K) shape is shared with another argument or the result
    arrays = {name: v for name, v in (args or {}).items() if isinstance(v, np.ndarray) and v.ndim == 2}
    batch = [name for name, v in arrays.items() if v.shape[0] == n]
    wide = [(name, int(v.shape[1])) for name, v in arrays.items()
            if v.shape[0] == n and v.shape[1] > 1
            and not any(w.shape[0] == v.shape[1] for m, w in arrays.items() if m != name)
            and (len(batch) > 1 or v.shape == shape)]
    for name, k in wide:
        if near(n * k):
            return Verdict(False, "batch", Text(
                "off by a factor N·K = {n}·{k} = {nk}, the number of entries of `{name}` ({n} "
                "examples × {k} outputs; {what} is {more}): the mean is over all N·K entries, "
                "taken exactly once", n=n, k=k, nk=n * k, name=name, what=what, more=more))
    if near(n):
        return Verdict(False, "batch", Text("off by a factor of the batch size N = {n} ({what} "
                                            "is {more}): average over the batch exactly once",
                                            n=n, what=what, more=more))
    for name, k in wide:
        if k != n and near(k):
            if ratio > 1:
                return Verdict(False, "batch", Text(
                    "{what} is K = {k} times too large: it was divided by the batch size N = {n}, "
                    "but the mean is over all N·K = {nk} entries of `{name}` ({k} outputs per "
                    "example)", what=what, k=k, n=n, nk=n * k, name=name))
            return Verdict(False, "batch", Text(
                "{what} is K = {k} times too small: it was divided by N·K = {nk}, but the mean "
                "here is over the N = {n} examples only", what=what, k=k, nk=n * k, n=n))
    return None


def compare_array(expected: np.ndarray, got: Any, *, rtol: float, atol: float,
                  args: dict[str, Any] | None = None, what: str | None = None) -> Verdict:
    """Diagnose one array result against the expected array (``what``: how the message names
    it, "your result" by default)."""
    what = Text("your result") if what is None else what
    exp = np.asarray(expected, dtype=np.float64)
    arr = _as_float_array(got)
    if arr is None:
        return Verdict(False, "type", Text("{what} is a {type}, expected a numeric array of "
                                           "shape {shape}", what=what, type=type(got).__name__,
                                           shape=exp.shape))
    close = lambda a, b, r=rtol: a.shape == b.shape and bool(np.allclose(a, b, rtol=r, atol=atol))
    if arr.shape != exp.shape:
        if arr.size == exp.size and arr.ndim == 2 and close(arr.T, exp):
            return Verdict(False, "transposed", Text("{what} looks transposed: shape {got}, "
                                                     "expected {expected}", what=what,
                                                     got=arr.shape, expected=exp.shape))
        hint: str = ""
        if arr.size == exp.size and close(arr.reshape(exp.shape), exp):
            hint = Text(" (the numbers are right: reshape or drop the extra axis)")
        return Verdict(False, "shape", Text("wrong shape: expected {expected}, got {got}{hint}",
                                            expected=exp.shape, got=arr.shape, hint=hint))
    if not np.all(np.isfinite(arr)) and np.all(np.isfinite(exp)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        return Verdict(False, "nan", Text("{what} contains NaN or inf (first at index {index}); "
                                          "an overflow, a division by zero or log(0)?",
                                          what=what, index=bad))
    if close(arr, exp):
        return PASS
    dtype = np.asarray(got).dtype
    if dtype.kind == "f" and dtype.itemsize < 8 and close(arr, exp, max(rtol, LOW_PRECISION_RTOL)):
        worst = float(np.max(np.abs(arr - exp) / np.maximum(np.abs(exp), atol)))
        return Verdict(False, "type", Text(
            "{what} has dtype {dtype}: its values agree with the expected ones only to {dtype} "
            "precision (relative error up to {worst}, allowed {rtol}); compute in float64, "
            "NumPy's default (remove the conversion: astype(np.{dtype}), dtype=np.{dtype}, or a "
            "{dtype} Numba signature)", what=what, dtype=str(dtype), worst=f"{worst:.1e}",
            rtol=f"{rtol:g}"))
    if exp.ndim == 2 and exp.shape[0] == exp.shape[1] and close(arr.T, exp):
        return Verdict(False, "transposed", Text("{what} looks transposed", what=what))
    if np.any(np.abs(exp) > atol) and close(-arr, exp):
        return Verdict(False, "sign", Text("sign flipped: {what} is minus the expected value",
                                           what=what))
    mask = np.abs(exp) > 1e-12
    if mask.any():
        ratio = float(np.median(arr[mask] / exp[mask]))
        if np.isfinite(ratio) and abs(ratio) > 1e-12 and abs(ratio - 1) > 1e-6 \
                and close(arr, ratio * exp):
            batch = _batch_verdict(ratio, args, what, exp.shape)
            if batch is not None:
                return batch
            if mask.sum() >= 2:
                return Verdict(False, "values", Text("wrong values: off by a constant factor "
                                                     "{factor}", factor=_fmt(ratio)))
    err = np.abs(arr - exp)
    idx = np.unravel_index(int(np.nanargmax(np.where(np.isnan(err), np.inf, err))), exp.shape)
    where: str = Text(" at index {index}", index=tuple(int(i) for i in idx)) if exp.ndim else ""
    e, g = _pair(float(exp[idx]), float(arr[idx]))
    return Verdict(False, "values", Text("wrong values: largest error {error}{where} (expected "
                                         "{expected}, got {got})", error=_fmt(float(err[idx])),
                                         where=where, expected=e, got=g))


def compare(expected: Any, got: Any, *, rtol: float = 1e-7, atol: float = 1e-9,
            args: dict[str, Any] | None = None) -> Verdict:
    """Diagnose a result that is an array, a scalar, or a list/tuple of arrays."""
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(expected):
            n = len(got) if isinstance(got, (list, tuple)) else Text("not a list")
            return Verdict(False, "type", Text("expected a list of {count} arrays, got {got}",
                                               count=len(expected), got=n))
        for k, (e, g) in enumerate(zip(expected, got)):
            v = compare_array(e, g, rtol=rtol, atol=atol, args=args, what=Text("it"))
            if not v.ok:
                return Verdict(False, v.kind, Text("item {k}: {message}", k=k, message=v.message))
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
    return Verdict(False, "input_modified", Text(
        "input array modified in place: {names} changed; work on a copy (e.g. `x = x.copy()` or "
        "`np.maximum(x, 0)`), not on the caller's array", names=names))


_NUMBER = r"[-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_NUMBERS = re.compile(rf"(?<![A-Za-z_\d.]){_NUMBER}(?:\s*,?\s*{_NUMBER})*")


#: What to change when the grader cannot run what ran in the notebook (grader feedback only).
_HINTS = {
    "NameError": Text(" -- only the answer cells are graded, each after the sheet's setup: a "
                      "name defined in another cell of your notebook does not exist there; "
                      "define it in the answer cell that uses it"),
    "FileNotFoundError": Text(" -- answers are graded in an empty folder: read no files, use "
                              "only the function's arguments"),
    "ModuleNotFoundError": Text(" -- answers are graded with the standard library and NumPy "
                                "(and Numba) only"),
}


def mask_numbers(message: str) -> str:
    """The message with every number (run of numbers) replaced by ``…``: a student's own
    exception message may print the inputs it got, and hidden inputs stay hidden."""
    return _NUMBERS.sub("…", message)


def exception(type_name: str, message: str, *, line: int | None = None, where: str | None = None,
              hide_numbers: bool = False) -> Verdict:
    """A verdict for an exception raised by the answer (``line``: in the answer cell). The
    grader passes ``hide_numbers=True``: messages are shown with their numbers masked, and
    ``where``, the question whose answer cell raised."""
    message = " ".join(str(message).split())[:300]
    if hide_numbers:
        message = mask_numbers(message)
    at: str = ""
    if isinstance(line, int) and line > 0:
        at = (Text(" (line {line} of your answer cell for {question})", line=line, question=where)
              if where else Text(" (line {line} of your answer cell)", line=line))
    hint: str = _HINTS.get(type_name, "") if hide_numbers else ""
    if type_name == "NotImplementedError":
        return Verdict(False, "not_implemented", Text("not implemented yet"))
    if _SHAPE_ERROR.search(message):
        return Verdict(False, "transposed", Text(
            "raised {type}{at}: {message} -- the shapes do not line up inside your function: is "
            "a weight matrix transposed? W has shape (n_in, n_out), so Z = X @ W + b",
            type=type_name, at=at, message=message))
    return Verdict(False, "exception", Text("raised {type}{at}: {message}{hint}", type=type_name,
                                            at=at, message=message, hint=hint))
