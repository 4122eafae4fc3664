"""Run untrusted answer code in a fresh interpreter with limits (and, as root, isolation).

Modes (chosen by :func:`detect_mode`):

* ``namespaces`` (root, ``unshare`` works): new network, mount and PID namespaces; every
  top-level folder but the system ones (/usr, /etc, ...) hidden under empty read-only tmpfs, with
  only the interpreter and the run's work directory bound back; a private unprivileged uid per run; when the
  run ends every process it started dies with its PID namespace.
* ``user`` (root without namespaces): private unprivileged uid per run; leftover processes of
  that uid are killed; no network isolation, secrets protected only by file permissions.
* ``limits`` (not root): same user as the grader; limits, timeouts and process-group kill only.

In every mode: a wall-clock timeout that kills the whole process group, CPU, address-space,
file-size, process-count and open-file limits, a minimal environment, ``python -I -S``.
"""
from __future__ import annotations

import ctypes
import functools
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HARNESS = Path(__file__).with_name("harness.py")
UID_BASE = 200000
_uids = itertools.count()
_uid_lock = threading.Lock()
_active: set[int] = set()          # pids of sandbox processes started by this process
_active_lock = threading.Lock()
_subreaper = False
UNSHARE = ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]


@dataclass
class Limits:
    """Resource limits of one sandboxed run."""

    timeout: float = 10.0       # wall clock per question (the run gets (questions + 1) x this)
    call_timeout: float = 5.0   # one call of the student's function (or one cell), seconds
    memory_mb: int = 1024       # address space
    fsize_mb: int = 16          # largest file the run may write
    nproc: int = 64             # processes of the sandbox uid (root modes)
    nofile: int = 64


@dataclass
class RunResult:
    timed_out: bool
    returncode: int | None
    seconds: float


@functools.cache
def detect_mode() -> str:
    """The strongest isolation available here: 'namespaces', 'user' or 'limits'."""
    if os.geteuid() != 0:
        return "limits"
    if shutil.which("unshare"):
        try:
            probe = subprocess.run(UNSHARE + [sys.executable, "-I", "-S", "-c", "0"],
                                   capture_output=True, timeout=20)
            if probe.returncode == 0:
                return "namespaces"
        except (OSError, subprocess.SubprocessError):
            pass
    return "user"


TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
# Top-level folders a sandboxed run may see. Every other one (/root, /home, /work, /opt, /srv,
# /tmp, /var, ...) is hidden, because a copy of the course (with the solutions) may lie anywhere
# on the machine: an allow-list, not a list of known places.
SYSTEM_DIRS = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/proc",
               "/dev", "/sys")


def _top_level_dirs() -> set[Path]:
    """Real (not symlinked) top-level folders outside SYSTEM_DIRS."""
    out = set()
    for entry in os.scandir("/"):
        if entry.is_dir(follow_symlinks=False) and entry.path not in SYSTEM_DIRS:
            out.add(Path(entry.path))
    return out


def _needed() -> set[Path]:
    needed = {Path(p).resolve() for p in (sys.base_prefix, sys.prefix, numpy_path())}
    return needed | {Path(sys.executable).resolve().parent}


def _closed_ancestors(paths: set[Path]) -> set[Path]:
    """For each path, its highest ancestor that other users cannot enter (e.g. /root)."""
    out = set()
    for p in paths:
        for anc in [*reversed(p.parents), p]:
            if anc != Path("/") and not os.stat(anc).st_mode & 0o001:
                out.add(anc)
                break
    return out


def exposures(workdir: Path, hide: list[str] | tuple[str, ...] = ()) -> list[tuple[str, list[str]]]:
    """(directory to hide, directories under it to keep visible) for a namespaces-mode run.

    Hidden: ``hide`` (the grader passes the course project, its sources and git history, the
    submissions and outputs), temporary directories, closed ancestors of the interpreter (e.g. a
    pyenv Python under /root) and every top-level folder outside SYSTEM_DIRS (so another copy of
    the course elsewhere on the machine is out of sight too). Each becomes an
    empty tmpfs in which only the interpreter's and the work directory's paths are bound back."""
    needed = _needed() | {Path(workdir).resolve()}
    hides = _closed_ancestors(_needed()) | {Path(d).resolve() for d in (*TMP_DIRS, tempfile.gettempdir())
                                         if os.path.isdir(d)}
    hides |= {Path(d).resolve() for d in hide if os.path.isdir(d)}
    hides |= _top_level_dirs()
    hides -= needed
    keeps = {h: {p for p in needed if p == h or h in p.parents} for h in hides}

    def covered(h: Path) -> bool:  # hidden already by an outer hide (and not bound back)
        return any(o in h.parents and not any(k == h or k in h.parents for k in keeps[o])
                   for o in hides)

    hides = sorted((h for h in hides if h != Path("/") and not covered(h)),
                   key=lambda h: len(h.parts))  # outer first: inner ones hide inside bind mounts
    return [(str(h), sorted(str(p) for p in keeps[h] if not any(k in p.parents for k in keeps[h])))
            for h in hides]


def interpreter_public() -> bool:
    return not _closed_ancestors(_needed())


def next_uid() -> int:
    with _uid_lock:
        return UID_BASE + next(_uids) % 50000


def numpy_path() -> str:
    return str(Path(np.__file__).resolve().parent.parent)


def kill_uid(uid: int) -> None:
    """SIGKILL every process running as ``uid`` (a private uid: only the sandbox's)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


def become_subreaper() -> bool:
    """Let orphaned descendants be re-parented to this process, so that background processes
    an answer leaves behind are killed after each run (used by the CLI in 'limits' mode)."""
    global _subreaper
    try:
        _subreaper = ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        _subreaper = False
    return _subreaper


def reap_orphans(keep: set[int]) -> None:
    """Kill and reap children of this process that are not in ``keep`` (escaped background jobs)."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in keep:
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            if ppid == me:
                os.kill(int(entry), signal.SIGKILL)
                os.waitpid(int(entry), 0)
        except (OSError, ValueError, IndexError, ChildProcessError):
            pass


def run(workdir: Path, job: dict, limits: Limits, mode: str, mask: list[str],
        budget: float | None = None) -> RunResult:
    """Run the harness on a prepared work directory (``in/`` inputs, ``out/`` for results).
    ``budget`` is the wall-clock limit of the whole run (default ``limits.timeout``)."""
    budget = budget or limits.timeout
    import json

    uid = next_uid() if mode in ("namespaces", "user") else None
    job = dict(job, uid=uid, expose=exposures(workdir, mask) if mode == "namespaces" else [],
               path=[numpy_path()], call_timeout=limits.call_timeout,
               limits={"as": limits.memory_mb << 20, "cpu": int(budget) + 1,
                       "fsize": limits.fsize_mb << 20, "nofile": limits.nofile,
                       "core": 0, **({"nproc": limits.nproc} if uid is not None else {})})
    shutil.copy(HARNESS, workdir / "harness.py")
    (workdir / "job.json").write_text(json.dumps(job))
    (workdir / "out").mkdir()
    if uid is not None:
        # root-owned and readable only by this run's group: the run cannot rename or replace
        # anything here, other runs cannot read it; it may write only into out/
        for path in [workdir, *workdir.rglob("*")]:
            os.chown(path, 0, uid)
            os.chmod(path, 0o750 if path.is_dir() else 0o640)
        os.chown(workdir / "out", uid, uid)
        os.chmod(workdir / "out", 0o700)
    else:
        os.chmod(workdir, 0o700)
    argv = [sys.executable, "-I", "-S", str(workdir / "harness.py"), str(workdir)]
    if mode == "namespaces":
        argv = UNSHARE + argv
    env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "LANG": "C.UTF-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.monotonic()
    with _active_lock:
        proc = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        _active.add(proc.pid)
    timed_out = False
    try:
        proc.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        if uid is not None:
            kill_uid(uid)
        with _active_lock:
            _active.discard(proc.pid)
            if _subreaper:
                reap_orphans(_active)
    return RunResult(timed_out, proc.returncode, time.monotonic() - start)
