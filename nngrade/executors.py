"""Where submissions are graded: a :class:`concurrent.futures.Executor` seam.

* Default: a local :class:`~concurrent.futures.ProcessPoolExecutor` sized to the cores (``-j``):
  no server, no dependency beyond the grader's own.
* ``--scheduler tcp://HOST:PORT`` (or ``DASK_SCHEDULER_ADDRESS``): an existing Dask distributed
  cluster, through ``distributed.Client(address).get_executor(pure=False)``; Dask is imported
  only then (``pip install '.[cluster]'``).

Either way a task is a :class:`Task`: the sheet's path and version (hash), the seed, the limits
and isolation mode, and one student's id, file name and file bytes (read by the grader's
process, bounded). The worker grades it exactly as the local grader does: the answer cells only
ever run in the sandboxed child the worker starts (:mod:`nngrade.sandbox`), the judging happens
in the worker's own process, and what comes back is :func:`nngrade.report.plain` data: scores,
verdict kinds and feedback text, nothing of the student's.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from . import report, sandbox


class ClusterUnavailable(RuntimeError):
    """The Dask cluster cannot be used (not installed, or not reachable)."""


class SheetMismatch(RuntimeError):
    """A worker's copy of the sheet is not the version the run grades."""


def sheet_hash(path: Path) -> str:
    """The version of a sheet: the SHA-256 of its source notebook's bytes."""
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Job:
    """What every task of a run shares."""

    sheet_path: str
    sheet_hash: str
    seed: int
    limits: sandbox.Limits
    mode: str
    mask: tuple[str, ...]   # folders hidden from the sandbox besides the sheet's (inputs, outputs)


@dataclass(frozen=True)
class Task:
    """One student's submission to grade (``data``: the file's bytes; ``error``: why it could
    not be read; ``only``: the questions to grade, None for all; ``prior``: the other questions'
    earlier scores, for the notes on questions depending on them)."""

    job: Job
    student: str
    file: str
    data: bytes | None
    error: str | None = None
    only: tuple[str, ...] | None = None
    prior: dict[str, float] | None = None


_graders: dict[tuple, Any] = {}
_checked: set[tuple] = set()
_lock = threading.Lock()


def grader_for(job: Job, check: bool = True) -> Any:
    """This process's grader for ``job`` (made once: the reference outputs are computed once per
    worker process). Raises :class:`SheetMismatch` or (unless ``check`` is false: the machine
    that only sends tasks to a cluster) :class:`~nngrade.sandbox.IsolationUnavailable`: a worker
    that cannot grade as asked stops the run instead of giving anyone a zero."""
    from .grade import Grader
    key = (job.sheet_path, job.sheet_hash, job.seed, astuple(job.limits), job.mode, job.mask)
    with _lock:
        g = _graders.get(key)
        if g is None:
            found = sheet_hash(Path(job.sheet_path))
            if found != job.sheet_hash:
                raise SheetMismatch(f"the worker's {job.sheet_path} is version {found}, the run "
                                    f"grades {job.sheet_hash}: give every worker the same course "
                                    f"checkout")
            g = _graders[key] = Grader(job.sheet_path, seed=job.seed, limits=job.limits,
                                       mode=job.mode, mask=[Path(m) for m in job.mask])
        if check and key not in _checked:
            sandbox.check(job.mode)
            if job.mode == "limits":
                sandbox.become_subreaper()
            _checked.add(key)
        return g


def grade_task(task: Task) -> dict[str, Any]:
    """Grade one submission (runs on a worker); return its plain result."""
    grader = grader_for(task.job)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nngrade-sub-") as tmp:
        path = Path(tmp) / ("submission" + Path(task.file).suffix)
        if task.data is not None:
            path.write_bytes(task.data)
        sub = grader.grade_one(task.student, task.file, path if task.data is not None else None,
                               error=task.error, only=task.only, prior=task.prior)
    out = report.plain(sub)
    out["seconds"] = round(time.monotonic() - start, 3)
    return out


@contextmanager
def executor(jobs: int | None = None, scheduler: str | None = None
             ) -> Iterator[tuple[Executor, int, str]]:
    """(executor, parallel slots, a description) for a run: a local process pool, or the Dask
    cluster at ``scheduler``."""
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise ClusterUnavailable("--scheduler needs Dask's distributed scheduler: install the "
                                     "grader's cluster extra (pip install '.[cluster]') on this "
                                     "machine and on every worker") from None
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ClusterUnavailable(f"cannot reach the Dask scheduler at {scheduler}: "
                                     f"{exc}") from None
        try:
            threads = client.nthreads()
            if not threads:
                client.wait_for_workers(1, timeout=60)
                threads = client.nthreads()
            slots = sum(threads.values())
            yield (client.get_executor(pure=False), slots,
                   f"Dask cluster at {scheduler} ({len(threads)} workers, {slots} threads)")
        finally:
            client.close()
    else:
        n = jobs or os.cpu_count() or 1
        # fork: the workers start with this process's grader (its reference outputs computed)
        with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("fork")
                                 ) as pool:
            yield pool, n, f"local pool of {n} processes"


def run(ex: Executor, slots: int, tasks: Iterable[Task],
        done: Callable[[Task, dict[str, Any]], None]) -> list[tuple[Task, BaseException]]:
    """Submit ``tasks`` (at most 2 x slots + 2 in flight, so that a crash loses little and
    memory stays bounded) and call ``done`` with each result as it arrives. The first failure
    of the machinery (not of a submission: those are graded, with the reason, by the worker's
    guard) stops new submissions; the tasks in flight finish; the failures are returned."""
    window = 2 * max(slots, 1) + 2
    it = iter(tasks)
    pending: dict[Future, Task] = {}
    failures: list[tuple[Task, BaseException]] = []

    def fill() -> None:
        while not failures and len(pending) < window:
            task = next(it, None)
            if task is None:
                return
            pending[ex.submit(grade_task, task)] = task

    fill()
    while pending:
        finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for fut in finished:
            task = pending.pop(fut)
            try:
                result = fut.result()
            except Exception as exc:  # noqa: BLE001 -- reported, the run resumes later
                failures.append((task, exc))
                continue
            done(task, result)
        fill()
    return failures
