"""Run untrusted answer code in a fresh interpreter, bounded and isolated as one unit per submission.

Modes (:func:`detect_mode` picks the strongest; :func:`describe` says what each one protects and
what it does not on this machine; :func:`check` refuses a mode that cannot work here):

* ``namespaces`` (root): Debian's bubblewrap (``bwrap``; util-linux ``unshare`` if bwrap is not
  installed) gives the run new PID, IPC, network, UTS and mount namespaces. Every top-level folder
  but the system ones (/usr, /etc, ...) is hidden under an empty tmpfs; only the interpreter and
  the run's work directory are bound back. The run drops to a private uid leased for it alone.
* ``user`` (root without namespaces): the leased private uid, per-run cgroups and out/ tmpfs, but
  files are protected only by their permissions, no network or IPC isolation.
* ``userns`` (not root, bubblewrap and unprivileged user namespaces): the same namespaces and
  folder hiding as ``namespaces``, read-only but for out/, as your own uid; no cgroups, no out/
  size limit, no process-count limit.
* ``limits`` (not root, no bubblewrap): your own user; rlimits, timeouts and killing the process
  group only: answers can read the reference solutions.

In the root modes, each run also gets (when the kernel offers them; :func:`describe` names the
ones missing): a cgroup bounding the memory, process count and CPU share of all its processes
together, its time limit charged in that cgroup's CPU time (with a wall-clock backstop), and a
size-limited tmpfs as its out/ folder. When the run ends every process in its cgroup (and PID
namespace) is killed, the cgroup is removed, the tmpfs is unmounted and the IPC namespace goes.

Uids are leased across processes (:mod:`nngrade._uids`): two graders at once, or two cluster
workers on one machine, never share a uid, and the clean-up of one run touches only its own
cgroup, namespace and uid. In every mode: per-process CPU, address-space, file-size and
open-file limits, a minimal environment, ``python -I -S``.

For the grader: ``detect_mode(require="namespaces")`` when the instructor did not choose (raises
:class:`IsolationUnavailable` naming what is missing and the ``--isolation MODE`` that accepts
less), ``check(mode)`` when they did; then print ``describe(mode)`` before grading. A
:class:`RunResult` also says how much CPU and memory the run used together, whether the kernel
killed processes at its memory limit (``oom_kills``) and whether out/ was full (``disk_full``).

The file protocol with the runner (``runner.py``; names and limits in ``protocol.py``): the grader
writes ``job.json``, ``in/*.npy``
and the runner script into the work directory; the runner writes only into ``out/``. Job keys
set here: ``uid`` (drop to it, or None), ``expose`` (mounts the runner makes itself: unshare
only), ``path``, ``call_timeout``, ``limits`` (rlimits).
"""
from __future__ import annotations

import ctypes
import functools
import importlib.util
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _cgroup, _uids

RUNNER = Path(__file__).with_name("runner.py")   # the program that runs inside the sandbox
UID_BASE = _uids.UID_BASE
_active: set[int] = set()          # pids of sandbox processes started by this process
_active_lock = threading.Lock()
_subreaper = False
UNSHARE = ["unshare", "--net", "--mount", "--pid", "--ipc", "--uts", "--fork", "--kill-child",
           "--mount-proc"]
BWRAP_NS = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
MODES = ("namespaces", "user", "userns", "limits")            # strongest first
RANK = {m: len(MODES) - k for k, m in enumerate(MODES)}
# A shell joins the run's cgroups, then becomes the sandbox: every descendant starts inside them.
_JOIN = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


class IsolationUnavailable(RuntimeError):
    """The isolation asked for cannot be had on this machine (the message says what is missing
    and how to accept a weaker mode explicitly)."""


@dataclass
class Limits:
    """Resource limits of one sandboxed run (a run = one submission)."""

    timeout: float = 10.0       # wall-clock seconds per test (the run gets (tests + 1) x this, in CPU time)
    call_timeout: float = 5.0   # CPU seconds for one call of the student's function (or one cell)
    memory_mb: int = 1024       # address space of each process, and all processes together
    fsize_mb: int = 16          # largest file the run may write
    nproc: int = 64             # processes (and threads) of the run together
    nofile: int = 64
    disk_mb: int = 64           # out/ as a whole (a tmpfs of this size), and the run's /tmp
    cpus: float = 1.0           # cores the run may use at once
    wall_factor: float = 3.0    # wall-clock backstop = this x the CPU-time budget


@dataclass
class RunResult:
    timed_out: bool
    returncode: int | None
    seconds: float                      # wall clock
    cpu_seconds: float | None = None    # CPU time of all the run's processes (None: no cgroup)
    memory_peak: int | None = None      # bytes, all processes together (None: no cgroup)
    oom_kills: int = 0                  # processes killed at the run's memory limit
    disk_full: bool = False             # out/ reached Limits.disk_mb
    uid: int | None = None              # the leased uid the run ran as (root modes)


# -- what this machine offers ----------------------------------------------------------------

def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _mount_tmpfs(path: Path, options: str) -> None:
    flags = 2 | 4 | 8   # MS_NOSUID | MS_NODEV | MS_NOEXEC
    if _libc().mount(b"nngrade-out", str(path).encode(), b"tmpfs", flags, options.encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"cannot mount a tmpfs on {path}: {os.strerror(err)}")


def _umount(path: Path) -> None:
    if _libc().umount2(str(path).encode(), 2) != 0:   # MNT_DETACH
        err = ctypes.get_errno()
        raise OSError(err, f"cannot unmount {path}: {os.strerror(err)}")


def _mounted(path: str) -> bool:
    with open("/proc/self/mountinfo") as fh:
        return any(line.split()[4] == path for line in fh)


def _interpreter() -> str:
    """The real interpreter file: a venv's ``bin/python`` link may lie in a hidden folder, and the
    runner needs no venv (``-I -S``; NumPy's folder is put on its path explicitly)."""
    return os.path.realpath(sys.executable)


def _sandbox_argv(tool: str, workdir: Path, exposes: list[tuple[str, list[str]]],
                  uid: int | None) -> list[str]:
    if tool == "unshare":
        return list(UNSHARE)
    argv = ["bwrap", *BWRAP_NS]
    if os.geteuid() != 0:   # unprivileged: a user namespace, and no further ones inside it
        argv += ["--unshare-user", "--disable-userns"]
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for hide, keeps in exposes:
        perms = "1777" if hide in TMP_DIRS or hide == tempfile.gettempdir() else "0755"
        argv += ["--perms", perms, "--size", str(16 << 20), "--tmpfs", hide]
        made = {hide}
        for keep in keeps:
            # bwrap would create the folders between the tmpfs and the bind mount 0700
            for d in reversed(Path(keep).parents):
                if str(d) not in made and Path(hide) in d.parents:
                    argv += ["--perms", "0755", "--dir", str(d)]
                    made.add(str(d))
            argv += ["--ro-bind", keep, keep]
    w = str(workdir)
    argv += ["--ro-bind", w, w, "--bind", f"{w}/out", f"{w}/out", "--chdir", w]
    if uid is not None and os.geteuid() == 0:   # the runner drops to the leased uid itself
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return argv + ["--"]


@functools.cache
def _probe() -> dict:
    """What isolation mechanisms work here (cached: probed once per process)."""
    root = os.geteuid() == 0
    out = {"root": root, "bwrap": None, "unshare": False, "cgroups": {}, "tmpfs": False,
           "leases": None}
    py = [_interpreter(), "-I", "-S", "-c", "0"]
    work = Path(tempfile.mkdtemp(prefix="nngrade-probe-"))
    try:
        (work / "out").mkdir()
        if shutil.which("bwrap"):
            argv = _sandbox_argv("bwrap", work, exposures(work), None) + py
            try:
                r = subprocess.run(argv, capture_output=True, timeout=30)
                if r.returncode == 0:
                    ver = subprocess.run(["bwrap", "--version"], capture_output=True,
                                         text=True, timeout=10).stdout.strip()
                    out["bwrap"] = ver or "bwrap"
            except (OSError, subprocess.SubprocessError):
                pass
        if root and shutil.which("unshare"):
            try:
                r = subprocess.run(UNSHARE + py, capture_output=True, timeout=30)
                out["unshare"] = r.returncode == 0
            except (OSError, subprocess.SubprocessError):
                pass
        if root:
            try:
                _mount_tmpfs(work / "out", "size=1m,mode=0700")
                _umount(work / "out")
                out["tmpfs"] = True
            except OSError:
                pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if root:
        try:
            _uids.lease_dir()
            out["leases"] = str(_uids.LEASE_DIR)
        except _uids.LeaseError as exc:
            out["leases"] = None
            out["lease_error"] = str(exc)
    out["cgroups"] = {c: f"{v} {p}" for c, (v, p) in _cgroup.parents().items()}
    return out


def _strongest() -> str:
    p = _probe()
    if not p["root"]:
        return "userns" if p["bwrap"] else "limits"
    if not p["leases"]:
        return "limits"
    if p["bwrap"] or p["unshare"]:
        return "namespaces"
    return "user" if interpreter_public() else "limits"


def _unusable(mode: str) -> list[str]:
    """Why ``mode`` cannot run at all here (empty: it can)."""
    if mode not in MODES:
        return [f"unknown isolation mode {mode!r} (expected one of {', '.join(MODES)})"]
    p, why = _probe(), []
    if mode in ("namespaces", "user"):
        if not p["root"]:
            why.append("the grader is not root (needed to switch to a private uid)")
        elif not p["leases"]:
            why.append(p.get("lease_error", "no uid lease folder"))
    if mode == "namespaces" and p["root"] and not (p["bwrap"] or p["unshare"]):
        why.append("no namespaces: bubblewrap (bwrap) is not installed or cannot create "
                   "namespaces here, and neither can `unshare` (apt-get install bubblewrap; "
                   "in a container, allow CAP_SYS_ADMIN or user namespaces)")
    if mode == "userns" and p["root"]:
        why.append("'userns' is the mode for graders that are not root (as root use "
                   "'namespaces': it adds a private uid and cgroups)")
    if mode == "userns" and not p["root"] and not p["bwrap"]:
        why.append("bubblewrap (bwrap) is not installed or cannot create user namespaces here "
                   "(apt-get install bubblewrap; sysctl kernel.unprivileged_userns_clone=1)")
    if mode == "user" and p["root"] and not interpreter_public():
        why.append(f"the interpreter {sys.executable} lies in a folder other users cannot "
                   f"enter ({', '.join(map(str, _closed_ancestors(_needed())))}): the private "
                   f"uid could not start it, and every student would score 0")
    return why


def limitations(mode: str) -> list[str]:
    """What ``mode`` never protects, on any machine (each a sentence)."""
    if mode == "limits" and os.geteuid() == 0:
        return ["the grader is root and 'limits' mode does not change user: answers run AS ROOT, "
                "can read and change every file (the reference solutions too), with nothing but "
                "rlimits between them and the machine (use 'namespaces')",
                *limitations("limits-user")[1:]]
    if mode == "limits-user":
        mode = "limits"
    return {
        "limits": ["no private uid: answers run as your own user and can read (and change) "
                   "every file you can, including the reference solutions and the sheet "
                   "sources, and plant files outside their folder",
                   "no namespaces: answers can reach the network and see and signal your "
                   "processes",
                   "no IPC isolation: SysV shared memory can outlive a run and pass data "
                   "between submissions"],
        "userns": ["no private uid: answers run as your own uid (inside namespaces: they see "
                   "only system folders, the interpreter and their own folder, read-only but "
                   "out/)",
                   "no process-count limit: a fork bomb is stopped only by the machine's limits",
                   "out/ is not bounded as a whole (only each file, to fsize_mb)"],
        "user": ["no mount namespace: files are protected only by their permissions (anything "
                 "world-readable, e.g. a course checkout with the reference solutions, can be "
                 "read)",
                 "no network namespace: answers can reach the network",
                 "no IPC namespace: SysV IPC objects of the run's uid are removed after it, but "
                 "two runs at the same time can share memory"],
    }.get(mode, [])


def missing(mode: str) -> list[str]:
    """Protections of ``mode`` lost on *this machine* (a mechanism missing here), each as a
    sentence naming the mechanism and what is lost; or why the mode cannot run at all."""
    if _unusable(mode):
        return _unusable(mode)
    p, lost = _probe(), []
    cg = p["cgroups"]
    if mode == "namespaces" and not p["bwrap"]:
        lost.append("bubblewrap (bwrap) is not installed: util-linux `unshare` is used "
                    "(same namespaces, but no new terminal session and no capability drop)")
    if mode in ("namespaces", "user"):
        if "memory" not in cg:
            lost.append("no memory cgroup: memory is bounded per process (address space) "
                        "only, so N processes of one submission can use N x the limit")
        if "pids" not in cg:
            lost.append("no pids cgroup: the process count is bounded per uid (RLIMIT_NPROC) only")
        if "cpu" not in cg:
            lost.append("no cpu cgroup: one submission's processes can take every core")
        if "cpuacct" not in cg:
            lost.append("no CPU accounting (cpuacct) cgroup: time limits are wall-clock, so "
                        "another submission's load can make an honest one time out")
        if not p["tmpfs"]:
            lost.append("cannot mount a tmpfs: out/ is not bounded as a whole (only each file, "
                        "to fsize_mb)")
    return lost


def describe(mode: str) -> str:
    """What ``mode`` protects here and what it does not (print it before grading)."""
    p = _probe()
    if _unusable(mode):
        return f"isolation {mode!r} is unavailable: " + "; ".join(_unusable(mode))
    tool = {"namespaces": f"{p['bwrap'] or 'util-linux unshare'}, private leased uid",
            "user": "private leased uid, no namespaces",
            "userns": f"{p['bwrap']} in a user namespace, your own uid",
            "limits": "your own user"}[mode]
    has = ["per-process CPU, address-space, file-size and open-file limits; a wall-clock "
           "timeout; a minimal environment"]
    if mode in ("namespaces", "userns"):
        has.append("new PID, IPC, network, UTS and mount namespaces: only system folders, the "
                   "interpreter and the run's own folder are visible; IPC objects die with the "
                   "run, and so does every process it started")
    if mode in ("namespaces", "user"):
        has.append("a private uid leased for this run alone (no other grader or worker uses it "
                   "at the same time)")
        if p["tmpfs"]:
            has.append("out/ is a size-limited tmpfs (Limits.disk_mb)")
    cg = p["cgroups"]
    if cg:
        names = ", ".join(sorted(cg))
        has.append(f"a cgroup per submission ({names}): memory, processes and CPU share of all "
                   f"its processes together; time charged in its own CPU time; every process "
                   f"killed when it ends")
    lines = [f"isolation: {mode} ({tool})", "  in force:"]
    lines += [f"  - {h}" for h in has]
    lost = limitations(mode) + missing(mode)
    if not cg and mode in ("limits", "userns"):
        lost.append("no cgroups (none this user may create): memory, processes and CPU are "
                    "bounded per process only; time limits are wall-clock")
    lines.append("  NOT protected:" if lost else "  nothing of this mode is missing here")
    lines += [f"  - {w}" for w in lost]
    return "\n".join(lines)


def check(mode: str) -> None:
    """Raise IsolationUnavailable if ``mode`` cannot run here at all (e.g. 'user' as non-root)."""
    why = _unusable(mode)
    if why:
        raise IsolationUnavailable(f"isolation {mode!r} is not possible here: " + "; ".join(why))


def detect_mode(require: str | None = None) -> str:
    """The strongest isolation available here: 'namespaces', 'user' or 'limits'.

    With ``require``, raise IsolationUnavailable unless ``require`` or stronger is available
    with every mechanism of ``require`` working here (nothing in :func:`missing`). The message names
    what is missing and how to accept weaker isolation (``--isolation MODE``)."""
    mode = _strongest()
    if require is None:
        return mode
    if require not in MODES:
        raise ValueError(f"require must be one of {MODES}, got {require!r}")
    if RANK[mode] > RANK[require]:
        return mode
    lacking = _unusable(require) or missing(require)
    if RANK[mode] < RANK[require] or lacking:
        raise IsolationUnavailable(
            f"isolation {require!r} is not fully available here (best: {mode!r}). Missing:\n"
            + "\n".join(f"  - {w}" for w in lacking) +
            f"\nTo grade anyway with what this machine offers, ask for it explicitly, e.g. "
            f"`nngrade grade --isolation {mode} ...` (see describe({mode!r})).")
    return mode


# -- folder hiding policy ----------------------------------------------------------------------

TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
# Top-level folders a sandboxed run may see. Every other one (/root, /home, /work, /opt, /srv,
# /tmp, /var, /run, ...) is hidden, because a copy of the course (with the solutions) may lie
# anywhere on the machine: an allow-list, not a list of known places.
SYSTEM_DIRS = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/proc",
               "/dev", "/sys")


def mask_dirs(source_dir: Path, extra: list[Path]) -> list[str]:
    """Directories hidden from the sandbox on top of the allow-list below: the sheet's source
    folder (the reference solutions), the course project holding it (its venv, if inside, stays
    visible), git history, the installed nnlib and nngrade, and ``extra`` (inputs, outputs)."""
    src = Path(source_dir).resolve()
    dirs = [src, *extra]
    for parent in src.parents:
        if (parent / ".git").exists() or (parent / "pyproject.toml").is_file():
            dirs.append(parent)
            break
    if src.name == "source" and src.parent.name == "exercises":
        dirs.append(src.parent.parent)
    for name in ("nnlib", "nngrade"):
        spec = importlib.util.find_spec(name)
        dirs += [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    out: list[str] = []
    for d in dirs:
        d = Path(d).resolve()
        if d.is_dir() and str(d) not in out:
            out.append(str(d))
    return out


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


def numpy_path() -> str:
    return str(Path(np.__file__).resolve().parent.parent)


# -- clean-up helpers ------------------------------------------------------------------------------

def kill_uid(uid: int) -> None:
    """SIGKILL every process running as ``uid``. Only for a uid this process holds the lease of
    (so these are this run's processes): the fallback when there is no cgroup."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


def remove_ipc(uid: int) -> int:
    """Remove the SysV shared memory, semaphores and message queues owned or created by ``uid``
    (a leased uid: this run's). Returns how many were removed."""
    removed = 0
    for kind, flag in (("shm", "-m"), ("sem", "-s"), ("msg", "-q")):
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                head, *rows = [line.split() for line in fh]
        except OSError:
            continue
        col = {name: k for k, name in enumerate(head)}
        ident = col.get("shmid", col.get("semid", col.get("msqid", 1)))
        for row in rows:
            try:
                if uid in (int(row[col["uid"]]), int(row[col["cuid"]])):
                    subprocess.run(["ipcrm", flag, row[ident]], capture_output=True, timeout=10)
                    removed += 1
            except (ValueError, IndexError, KeyError, OSError, subprocess.SubprocessError):
                pass
    return removed


def become_subreaper() -> bool:
    """Let orphaned descendants be re-parented to this process, so that background processes
    an answer leaves behind are killed after each run (used by the CLI in 'limits' mode)."""
    global _subreaper
    try:
        _subreaper = _libc().prctl(36, 1, 0, 0, 0) == 0
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


def _recover(lease: _uids.UidLease) -> None:
    """Remove what a grader that died mid-run left with this uid (its record in the lease)."""
    stale = lease.stale or {}
    roots = [p for _, p in _cgroup.parents().values()]
    for path in stale.get("cgroups", []):
        p = Path(str(path))
        if p.name == f"nngrade-{lease.uid}" and p.is_absolute() and ".." not in p.parts:
            try:
                _cgroup.remove_dir(p)
            except OSError:
                pass
    for root in roots:   # also a leftover with this uid's name under our own cgroups
        try:
            _cgroup.remove_dir(root / f"nngrade-{lease.uid}")
        except OSError:
            pass
    kill_uid(lease.uid)
    mnt = stale.get("mount")
    if isinstance(mnt, str) and os.path.isabs(mnt) and _mounted(mnt):
        try:
            _umount(Path(mnt))
        except OSError:
            pass
    remove_ipc(lease.uid)


def _drain(mnt: Path, dest: Path) -> None:
    """Copy the regular files of the run's out/ tmpfs to ``dest`` (no links, FIFOs or folders;
    the tmpfs size bounds how much). Every process of the run is dead by now."""
    for entry in os.scandir(mnt):
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            with open(dest / entry.name, "xb") as out:
                while chunk := os.read(fd, 1 << 20):
                    out.write(chunk)
        except OSError:
            pass
        finally:
            os.close(fd)


def _debug_stderr() -> int | None:
    """NNGRADE_SANDBOX_DEBUG=1 shows the runner's error output (for developing the sandbox)."""
    return None if os.environ.get("NNGRADE_SANDBOX_DEBUG") == "1" else subprocess.DEVNULL


# -- one run -----------------------------------------------------------------------------------------

def run(workdir: Path, job: dict, limits: Limits, mode: str, mask: list[str],
        budget: float | None = None) -> RunResult:
    """Run the runner on a prepared work directory (``in/`` inputs, ``out/`` for results).

    ``budget`` is the time limit of the whole run (default ``limits.timeout``): CPU seconds of
    all its processes together when a CPU-accounting cgroup is available (then the wall-clock
    limit is ``limits.wall_factor`` x budget), else wall-clock seconds."""
    budget = budget or limits.timeout
    workdir = Path(workdir)
    check(mode)
    p = _probe()
    lease = _uids.acquire() if mode in ("namespaces", "user") else None
    cgroup: _cgroup.RunCgroup | None = None
    mnt: Path | None = None
    proc: subprocess.Popen | None = None
    timed_out, start = False, time.monotonic()
    stats: dict = {}
    try:
        if lease is not None and lease.stale is not None:
            _recover(lease)
        uid = lease.uid if lease else None
        tool = {"namespaces": "bwrap" if p["bwrap"] else "unshare", "userns": "bwrap"}.get(mode)
        exposes = exposures(workdir, mask) if tool else []
        job = dict(job, uid=uid, expose=exposes if tool == "unshare" else [],
                   path=[numpy_path()], call_timeout=limits.call_timeout,
                   limits={"as": limits.memory_mb << 20, "cpu": int(budget) + 1,
                           "fsize": limits.fsize_mb << 20, "nofile": limits.nofile,
                           "core": 0, **({"nproc": limits.nproc} if uid is not None else {})})
        shutil.copy(RUNNER, workdir / "runner.py")
        (workdir / "job.json").write_text(json.dumps(job))
        out = workdir / "out"
        out.mkdir()
        if uid is not None:
            # root-owned and readable only by this run's group: the run cannot rename or replace
            # anything here, other runs cannot read it; it may write only into out/
            for path in [workdir, *workdir.rglob("*")]:
                os.chown(path, 0, uid)
                os.chmod(path, 0o750 if path.is_dir() else 0o640)
            os.chown(out, uid, uid)
            os.chmod(out, 0o700)
        else:
            os.chmod(workdir, 0o700)
        name = f"nngrade-{uid}" if uid is not None else f"nngrade-p{os.getpid()}-{id(job)}"
        if lease is not None:   # first say what will be made, for the clean-up after a crash
            lease.record(cgroups=sorted({str(d / name) for _, d in _cgroup.parents().values()}),
                         mount=str(out) if p["tmpfs"] else None)
        if _cgroup.parents():
            cgroup = _cgroup.RunCgroup(name, limits.memory_mb << 20, limits.nproc, limits.cpus)
        if uid is not None and p["tmpfs"]:
            _mount_tmpfs(out, f"size={limits.disk_mb << 20},nr_inodes=16384,mode=0700,"
                              f"uid={uid},gid={uid}")
            mnt = out

        argv = [_interpreter(), "-I", "-S", str(workdir / "runner.py"), str(workdir)]
        if tool:
            argv = _sandbox_argv(tool, workdir, exposes, uid) + argv
        if cgroup is not None:
            argv = ["/bin/sh", "-c", _JOIN, "nngrade-join", *cgroup.procs_files, "--", *argv]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "LANG": "C.UTF-8",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               # the one writable place that is the run's own in every mode (/tmp is shared
               # outside the namespace modes); counted in its out/ size
               "NUMBA_CACHE_DIR": str(out / ".cache")}
        cpu_limit = budget if cgroup is not None and cgroup.cpu_seconds() is not None else None
        wall_limit = budget * limits.wall_factor if cpu_limit is not None else budget
        start = time.monotonic()
        with _active_lock:
            proc = subprocess.Popen(argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=_debug_stderr(),
                                    start_new_session=True)
            _active.add(proc.pid)
        while True:
            try:
                proc.wait(timeout=0.05 if cpu_limit is not None else wall_limit)
                break
            except subprocess.TimeoutExpired:
                used = cgroup.cpu_seconds() if cgroup is not None else None
                if (time.monotonic() - start > wall_limit
                        or (cpu_limit is not None and used is not None and used > cpu_limit)):
                    timed_out = True
                    break
    finally:
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if cgroup is not None:
            cgroup.kill()
        if proc is not None:
            proc.wait()
        if lease is not None:
            if cgroup is None:
                kill_uid(lease.uid)   # the lease makes these this run's processes only
            if mode == "user":
                remove_ipc(lease.uid)
        if cgroup is not None:
            stats = {"cpu_seconds": cgroup.cpu_seconds(), "memory_peak": cgroup.memory_peak(),
                     "oom_kills": cgroup.oom_kills()}
        try:
            if mnt is not None:
                copy = Path(tempfile.mkdtemp(prefix=".out-", dir=workdir))
                try:
                    fs = os.statvfs(mnt)
                    stats["disk_full"] = (fs.f_bavail * fs.f_frsize < (64 << 10)
                                          or fs.f_favail == 0)
                    _drain(mnt, copy)
                finally:
                    _umount(mnt)
                mnt.rmdir()
                copy.rename(mnt)
        finally:
            clean = False
            try:
                if cgroup is not None:
                    cgroup.remove()
                clean = mnt is None or not _mounted(str(mnt))
            finally:
                if lease is not None:   # the record stays if something could not be removed
                    lease.release(clean=clean)
        if proc is not None:
            with _active_lock:
                _active.discard(proc.pid)
                if _subreaper:
                    reap_orphans(_active)
    return RunResult(timed_out, proc.returncode, time.monotonic() - start, **stats,
                     uid=lease.uid if lease else None)
