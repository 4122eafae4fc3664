"""A one-line notice on stderr before a compile that will take a few seconds.

The first ``fit`` (or ``forward``, ``loss_and_grads``) in a fresh environment compiles nnlib's
kernels: a few seconds of silence that reads as a hang. Before calling a compiled entry point for
the first time in a process, :func:`before_first_call` checks whether Numba already has it for
that dtype, in memory or in its on-disk cache; if not, it prints once per dtype::

    nnlib: compiling kernels for float64 (first use, a few seconds; cached afterwards)

Set the environment variable ``NNLIB_QUIET_COMPILE=1`` to silence it (the tests that execute a
notebook with an empty cache do, so that its stored outputs do not depend on the cache).
"""
from __future__ import annotations

import os
import sys
from typing import Any

_checked: set[tuple[str, str]] = set()
_announced: set[str] = set()


def _params_dtype(t: Any) -> str | None:
    """The dtype of the first array in a Numba signature argument (params, or Network.params)."""
    if hasattr(t, "dtype") and hasattr(t, "ndim"):
        return str(t.dtype)
    inner = getattr(t, "types", None)
    return _params_dtype(inner[0]) if inner else None


def _kind(t: Any) -> str:
    """What matters of a variant argument's Numba type: None, or the tuple of True/None as typed
    (e.g. ``(bool, none)``), or "given" (an array)."""
    s = str(t)
    return s if s == "none" or s.startswith(("(", "Tuple", "UniTuple")) else "given"


def _has(dispatcher: Any, dtype: str, variant: tuple[Any, ...] = ()) -> bool:
    sigs = list(dispatcher.signatures)
    sigs += [key[0] for key in dispatcher._cache._cache_file._load_index()]
    k = len(variant)
    if k:
        from numba import typeof
        want = tuple(_kind(typeof(v)) for v in variant)

    def kinds(sig: Any) -> tuple[str, ...]:
        return tuple(_kind(t) for t in sig[len(sig) - k:]) if k else ()

    return any(sig and _params_dtype(sig[0]) == dtype and (not k or kinds(sig) == want)
               for sig in sigs)


def before_first_call(dispatcher: Any, dtype: Any, *variant: Any) -> None:
    """Print the notice if ``dispatcher`` (a compiled kernel whose first argument holds the
    parameters) has neither been compiled nor cached for ``dtype`` (and, when ``variant`` gives the
    values of its last arguments, for the same pattern of ``None`` among them, inside tuples too:
    each pattern is a separate compile); at most once per dtype."""
    name = str(dtype)
    nones = tuple(tuple(x is None for x in v) if isinstance(v, tuple) else v is None
                  for v in variant)
    key = (getattr(dispatcher, "__qualname__", repr(dispatcher)), name, nones)
    if key in _checked:
        return
    _checked.add(key)
    if name in _announced or os.environ.get("NNLIB_QUIET_COMPILE", "") not in ("", "0"):
        return
    try:
        if _has(dispatcher, name, variant):
            return
    except Exception:       # no JIT (NUMBA_DISABLE_JIT=1), no cache, or another Numba: say nothing
        return
    _announced.add(name)
    print(f"nnlib: compiling kernels for {name} (first use, a few seconds; cached afterwards)",
          file=sys.stderr, flush=True)


# The generic variant (every activation, loss and BLAS compiled in) gives the same numbers as any
# pruned one: where it is already compiled or cached (after nnlib.warmup(), say), fit and forward
# use it instead of compiling a pruned variant. Answers are kept per process.
_generic_known: dict[tuple[str, str, tuple[Any, ...]], bool] = {}
_force_generic = False      # set by nnlib.warmup() while it compiles the generic variants


def pick_variant(dispatcher: Any, dtype: Any, fixed: tuple[Any, ...], minimal: tuple[Any, ...],
                 generic: tuple[Any, ...]) -> tuple[Any, ...]:
    """``generic`` (the values of ``dispatcher``'s last arguments that compile everything) if it is
    compiled or cached for ``dtype`` with the same ``fixed`` arguments before them (see
    :func:`before_first_call`), else ``minimal`` (what this call needs: a shorter first compile).
    Both give the same numbers (nnlib.kernels.variant; issue 14)."""
    if _force_generic:
        return generic
    if minimal == generic:
        return minimal
    nones = tuple(v is None for v in fixed)
    key = (getattr(dispatcher, "__qualname__", repr(dispatcher)), str(dtype), nones)
    known = _generic_known.get(key)
    if known is None:
        try:
            known = _has(dispatcher, str(dtype), fixed + generic)
        except Exception:   # no JIT (NUMBA_DISABLE_JIT=1), no cache, or another Numba
            known = False
        _generic_known[key] = known
    return generic if known else minimal
