"""The file protocol between the grader (:mod:`nngrade.grade`) and the program that runs inside
the sandbox (:mod:`nngrade.runner`), written down once.

The grader prepares a private work directory and :mod:`nngrade.sandbox` runs the runner on it::

    WORKDIR/job.json          the job (below); written by the grader, read-only for the run
    WORKDIR/in/<call>.<arg>.npy  the arguments of each call (``allow_pickle=False``)
    WORKDIR/in/cell-<k>.py    answer cell k (after IPython syntax was translated), so that
                              tracebacks have line numbers and ``numba.njit(cache=True)`` works
    WORKDIR/out/              the only folder the run may write; everything in it is untrusted

What the runner may write into ``out/`` and the grader reads back (nothing else is read):

* ``<call>.out.npy``        the result of a call (one array or number), or, for a list/tuple
  result, ``<call>.out.len`` (text ``"list 3"`` or ``"tuple 3"``) and ``<call>.out.<i>.npy``
  for each item (items may be lists again, with the same rule);
* ``<call>.err``            the call raised: JSON ``{"type", "message", "line", "cell"}`` (the
  line in answer cell number ``cell`` where it was raised, or null);
* ``<call>.inplace``        the call modified argument arrays in place: their names, one a line;
* ``cell-<k>.err``          running answer cell k raised (same JSON as ``<call>.err``);
* ``<test>.killed``         the test's process was killed at its wall-clock deadline;
* ``numba-cache/``          Numba's cache (``NUMBA_CACHE_DIR``), never read by the grader.

The grader reads these files in its own process as untrusted input: never following symlinks,
never blocking (``O_NONBLOCK``; FIFOs, devices and folders are refused by ``fstat``), with
the size limits below checked before reading (:mod:`nngrade.codec`).

``job.json`` holds ``setup`` (instructor code), ``cells`` (file names under ``in/``, in notebook
order), ``tests`` (a list of ``{"id", "function", "deadline", "calls": [{"id", "args"}]}``; each
test runs in its own child process with its own wall-clock deadline; each call has its own CPU
timer) and ``protocol`` (:func:`for_runner`). :func:`nngrade.sandbox.run` adds ``uid``,
``expose``, ``path``, ``call_timeout`` and ``limits``.
"""
from __future__ import annotations

JOB = "job.json"
IN = "in"
OUT = "out"
NUMBA_CACHE = "numba-cache"

#: largest .npy result file the grader reads (bytes), and largest array the runner saves
MAX_RESULT_BYTES = 16 * 1024 * 1024
#: most items of a returned list or tuple, and deepest nesting of lists
MAX_RESULT_ITEMS = 1000
MAX_RESULT_DEPTH = 4
#: longest .npy header the grader parses (bytes)
MAX_NPY_HEADER = 4096
#: most bytes read from an ``.err``, ``.len`` or ``.inplace`` text file
MAX_TEXT_BYTES = 4096
#: most characters of an exception message the runner writes
MAX_MESSAGE_CHARS = 500


def result_stem(call: str) -> str:
    return f"{call}.out"


def error_name(call: str) -> str:
    return f"{call}.err"


def inplace_name(call: str) -> str:
    return f"{call}.inplace"


def cell_file(k: int) -> str:
    return f"cell-{k}.py"


def cell_error_name(k: int) -> str:
    return f"cell-{k}.err"


def killed_name(test: str) -> str:
    return f"{test}.killed"


def for_runner() -> dict[str, int | str]:
    """The names and limits the runner needs (it cannot import nngrade: it gets them in the job)."""
    return {"out": OUT, "numba_cache": NUMBA_CACHE, "max_result_bytes": MAX_RESULT_BYTES,
            "max_result_items": MAX_RESULT_ITEMS, "max_result_depth": MAX_RESULT_DEPTH,
            "max_message_chars": MAX_MESSAGE_CHARS}
