"""nngrade: the course's small exercise grader, one module per stage.

``sheet`` (the sheet model and markers) -> ``generate`` (student notebooks and public data) ->
``submission`` (reading submissions: untrusted input) -> ``grade`` (grading, in sandboxed runs:
``sandbox`` runs ``runner`` with the file ``protocol``; files come back through ``codec``) ->
``verdicts`` (what is wrong, in plain words) -> ``results`` (result types) -> ``report``
(feedback and gradebook). At scale: ``executors`` (a local process pool or a Dask cluster),
``shards`` (the append-only log, shards and merge), ``late`` (late penalties), ``progress``;
``export`` hands the gradebook to an LMS. ``student`` is the student's ``check``; ``verify``
proves a sheet; ``cli`` is the command line. Judging happens only in the grader's process; see
``nngrade grade --help``.
"""
from __future__ import annotations

from typing import Any

from .student import checker

__all__ = ["checker", "numerical_gradient"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``nngrade.numerical_gradient`` is nnlib's (imported on first use: the grader does not
    need nnlib)."""
    if name == "numerical_gradient":
        from nnlib import numerical_gradient
        return numerical_gradient
    raise AttributeError(f"module 'nngrade' has no attribute {name!r}")
