"""One cgroup per sandboxed run: memory, process count and CPU of a submission as a whole.

Supports cgroup v1 (one hierarchy per controller, as on this machine kind: memory, pids, cpu,
cpuacct, freezer) and v2 (one unified hierarchy), and a hybrid of both. Each run's cgroup is made
*under the grader's own cgroup* of each controller, so that whatever limits the grader itself
runs under still hold for its runs, and named after the run's leased uid (unique on the machine,
see :mod:`nngrade._uids`).

Per run:

* memory: every process of the run together (plus what it writes into tmpfs) under ``memory_mb``;
  the kernel's OOM killer picks a victim inside the run only;
* pids: at most ``nproc`` processes and threads together (a fork bomb stops there);
* cpu: at most ``cpus`` cores (CFS quota); runs share the machine equally (same weight each),
  however many processes each one starts;
* CPU time: what the run's processes used, all together (``cpu_seconds``) -- the run's time limit
  is charged in CPU time, so another run's load cannot make an honest run time out;
* kill: freeze (v1 freezer) or ``cgroup.kill`` (v2), then SIGKILL every process in it.
"""
from __future__ import annotations

import functools
import os
import signal
import time
from pathlib import Path

CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer")


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(fstype, mount root, mount point, super options) of each cgroup mount."""
    out = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fields, rfields = left.split(), right.split()
            if len(rfields) >= 3 and rfields[0] in ("cgroup", "cgroup2"):
                out.append((rfields[0], fields[3], fields[4], set(rfields[2].split(","))))
    return out


def _own() -> dict[str, str]:
    """Hierarchy key -> this process's cgroup path: v1 controller names, and '' for v2."""
    out = {}
    with open("/proc/self/cgroup") as fh:
        for line in fh:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if hid == "0" and ctrls == "":
                out[""] = path
            for c in ctrls.split(","):
                if c:
                    out[c] = path
    return out


def _join(mount_root: str, mount_point: str, path: str) -> Path | None:
    rel = os.path.relpath(path, mount_root)
    if rel.startswith(".."):
        return None            # our cgroup is outside what this mount shows
    return Path(mount_point) / rel if rel != "." else Path(mount_point)


def _writable(parent: Path) -> bool:
    probe = parent / f"nngrade-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        probe.rmdir()
    except OSError:
        return False
    return True


@functools.cache
def parents() -> dict[str, tuple[str, Path]]:
    """controller -> ('v1' or 'v2', the grader's own cgroup folder in which runs are created),
    for each controller this process may create child cgroups in."""
    try:
        mounts, own = _mounts(), _own()
    except OSError:
        return {}
    out: dict[str, tuple[str, Path]] = {}
    for fstype, root, point, opts in mounts:
        if fstype != "cgroup":
            continue
        for c in CONTROLLERS:
            if c in opts and c in own and c not in out:
                d = _join(root, point, own[c])
                if d is not None and d.is_dir() and _writable(d):
                    out[c] = ("v1", d)
    v2 = [(root, point) for fstype, root, point, _ in mounts if fstype == "cgroup2"]
    if v2 and "" in own:
        d = _join(*v2[0], own[""])
        if d is not None and d.is_dir():
            want = {"memory": "memory", "pids": "pids", "cpu": "cpu"}
            try:
                avail = set((d / "cgroup.controllers").read_text().split())
                enabled = set((d / "cgroup.subtree_control").read_text().split())
            except OSError:
                avail = enabled = set()
            missing = [c for c in want if c not in out and c in avail and c not in enabled]
            if missing:
                try:   # fails (EBUSY) if our own cgroup holds processes and is not the root
                    (d / "cgroup.subtree_control").write_text(" ".join("+" + c for c in missing))
                    enabled |= set(missing)
                except OSError:
                    pass
            if _writable(d):
                for c in want:
                    if c not in out and c in enabled:
                        out[c] = ("v2", d)
                if "cpuacct" not in out:      # v2: cpu.stat (usage) exists in every cgroup
                    out["cpuacct"] = ("v2", d)
    return out


def _write(path: Path, value: str) -> None:
    path.write_text(value)


class RunCgroup:
    """The cgroups of one run (one folder per v1 controller, one for v2), created on init."""

    def __init__(self, name: str, memory_bytes: int, pids: int, cpus: float) -> None:
        self.dirs: dict[str, Path] = {}
        self.version: dict[str, str] = {}
        made: dict[Path, str] = {}
        try:
            for c, (ver, parent) in parents().items():
                d = parent / name
                if d not in made:
                    if d.exists():
                        remove_dir(d)   # left by a grader that died mid-run with this uid
                    d.mkdir()
                    made[d] = ver
                self.dirs[c], self.version[c] = d, ver
            self._limit(memory_bytes, pids, cpus)
        except BaseException:
            self.remove()
            raise

    def _limit(self, memory_bytes: int, pids: int, cpus: float) -> None:
        d, v = self.dirs, self.version
        if "memory" in d:
            if v["memory"] == "v1":
                _write(d["memory"] / "memory.limit_in_bytes", str(memory_bytes))
                for f, val in (("memory.memsw.limit_in_bytes", str(memory_bytes)),
                               ("memory.swappiness", "0")):
                    try:
                        _write(d["memory"] / f, val)
                    except OSError:
                        pass   # no swap accounting: without swap there is nothing to bound
            else:
                _write(d["memory"] / "memory.max", str(memory_bytes))
                try:
                    _write(d["memory"] / "memory.swap.max", "0")
                except OSError:
                    pass
        if "pids" in d:
            _write(d["pids"] / "pids.max", str(pids))
        if "cpu" in d:
            period = 100_000
            quota = max(1000, int(cpus * period))
            if v["cpu"] == "v1":
                _write(d["cpu"] / "cpu.cfs_period_us", str(period))
                _write(d["cpu"] / "cpu.cfs_quota_us", str(quota))
            else:
                _write(d["cpu"] / "cpu.max", f"{quota} {period}")

    @property
    def procs_files(self) -> list[str]:
        """The files a new process writes its pid into to join every cgroup of this run."""
        return sorted({str(d / "cgroup.procs") for d in self.dirs.values()})

    @property
    def paths(self) -> list[str]:
        return sorted({str(d) for d in self.dirs.values()})

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) used by every process of the run so far."""
        if "cpuacct" not in self.dirs:
            return None
        try:
            if self.version["cpuacct"] == "v1":
                return int((self.dirs["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
            for line in (self.dirs["cpuacct"] / "cpu.stat").read_text().splitlines():
                key, _, val = line.partition(" ")
                if key == "usage_usec":
                    return int(val) / 1e6
        except (OSError, ValueError):
            pass
        return None

    def memory_peak(self) -> int | None:
        """Most memory the run's processes used together, in bytes."""
        if "memory" not in self.dirs:
            return None
        name = "memory.max_usage_in_bytes" if self.version["memory"] == "v1" else "memory.peak"
        try:
            return int((self.dirs["memory"] / name).read_text())
        except (OSError, ValueError):
            return None

    def oom_kills(self) -> int:
        """Processes of the run the kernel killed at the run's memory limit."""
        if "memory" not in self.dirs:
            return 0
        name = "memory.oom_control" if self.version["memory"] == "v1" else "memory.events"
        try:
            for line in (self.dirs["memory"] / name).read_text().splitlines():
                key, _, val = line.partition(" ")
                if key == "oom_kill":
                    return int(val)
        except (OSError, ValueError):
            pass
        return 0

    def pids(self) -> set[int]:
        out: set[int] = set()
        for f in self.procs_files:
            try:
                out |= {int(p) for p in Path(f).read_text().split()}
            except (OSError, ValueError):
                pass
        return out

    def kill(self) -> bool:
        """SIGKILL every process of the run; True when none is left."""
        return kill_dirs(list(self.dirs.values()))

    def remove(self) -> None:
        """Kill what is left and delete the run's cgroups."""
        for d in sorted(set(self.dirs.values())):
            remove_dir(d)
        self.dirs = {}


def _procs(d: Path) -> set[int]:
    try:
        return {int(p) for p in (d / "cgroup.procs").read_text().split()}
    except (OSError, ValueError):
        return set()


def kill_dirs(dirs: list[Path], patience: float = 5.0) -> bool:
    """SIGKILL every process in these cgroup folders until they are empty (True) or time runs
    out (False). A v1 freezer (or v2 ``cgroup.kill``) stops a fork bomb from racing the kill."""
    dirs = sorted(set(dirs))
    for d in dirs:
        try:
            if (d / "cgroup.kill").exists():
                _write(d / "cgroup.kill", "1")
        except OSError:
            pass
    frozen = [d for d in dirs if (d / "freezer.state").exists()]
    for d in frozen:      # frozen, nobody can fork while the kill goes round
        try:
            _write(d / "freezer.state", "FROZEN")
        except OSError:
            pass
    deadline = time.monotonic() + patience
    first = True
    while True:
        pids = set().union(*(_procs(d) for d in dirs)) if dirs else set()
        if not pids:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if first:         # killed tasks die once thawed
            for d in frozen:
                try:
                    _write(d / "freezer.state", "THAWED")
                except OSError:
                    pass
            first = False
        time.sleep(0.01)


def remove_dir(d: Path, patience: float = 5.0) -> None:
    """Kill every process of cgroup folder ``d`` and delete it (its children first)."""
    if not d.is_dir():
        return
    for child in sorted((p for p in d.iterdir() if p.is_dir()), reverse=True):
        remove_dir(child, patience)
    kill_dirs([d], patience)
    deadline = time.monotonic() + patience
    while True:
        try:
            d.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
