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


# Every variant gives the same numbers (nnlib.kernels.variant), so a call may run any compiled
# variant that has at least what it needs: the generic one (everything compiled in) when it is
# compiled or cached (after nnlib.warmup(), say), else one already compiled in this process that
# covers the call (a predict after a fit with dropout runs the fit's forward), else the minimal one
# (a shorter first compile). The choice is kept per process and call pattern.
_chosen: dict[tuple[Any, ...], tuple[Any, ...]] = {}
_force_generic = False      # set by nnlib.warmup() while it compiles the generic variants


def _flags(v: Any) -> tuple[bool, ...]:
    """True where a variant value (True/None, or a tuple of them) is not None, flattened."""
    return sum((_flags(x) for x in v), ()) if isinstance(v, tuple) else (v is not None,)


def _covering(dispatcher: Any, dtype: str, fixed: tuple[Any, ...], minimal: tuple[Any, ...]
              ) -> tuple[Any, ...] | None:
    """A variant compiled in this process (same dtype and ``fixed`` pattern) that compiles at least
    what ``minimal`` needs, as values to pass, or None."""
    k, need = len(fixed) + len(minimal), _flags(minimal)
    for sig in dispatcher.signatures:
        if len(sig) < k or _params_dtype(sig[0]) != dtype:
            continue
        tail = sig[len(sig) - k:]
        if tuple(str(t) == "none" for t in tail[:len(fixed)]) != tuple(v is None for v in fixed):
            continue
        types = []
        for t in tail[len(fixed):]:
            types.extend(getattr(t, "types", None) or [t])
        have = tuple(str(t) != "none" for t in types)
        if len(have) == len(need) and all(h or not n for h, n in zip(have, need)):
            it = iter(True if h else None for h in have)
            return tuple(tuple(next(it) for _ in m) if isinstance(m, tuple) else next(it)
                         for m in minimal)
    return None


def pick_variant(dispatcher: Any, dtype: Any, fixed: tuple[Any, ...], minimal: tuple[Any, ...],
                 generic: tuple[Any, ...]) -> tuple[Any, ...]:
    """The values to pass as ``dispatcher``'s last arguments (after ``fixed``, see
    :func:`before_first_call`): ``generic`` (everything compiled in) if it is compiled or cached
    for ``dtype``, else a variant compiled in this process that covers ``minimal``, else
    ``minimal`` (what this call needs: a shorter first compile). All give the same numbers
    (nnlib.kernels.variant; issue 14)."""
    if _force_generic:
        return generic
    key = (getattr(dispatcher, "__qualname__", repr(dispatcher)), str(dtype),
           tuple(v is None for v in fixed), minimal)
    choice = _chosen.get(key)
    if choice is None:
        choice = minimal
        if minimal != generic:
            try:
                if _has(dispatcher, str(dtype), fixed + generic):
                    choice = generic
                else:
                    choice = _covering(dispatcher, str(dtype), fixed, minimal) or minimal
            except Exception:   # no JIT (NUMBA_DISABLE_JIT=1), no cache, or another Numba
                pass
        _chosen[key] = choice
    return choice
