"""A submission is bounded and isolated as a whole, and concurrent graders do not interfere (issue 11,
items 2, 3 and 7).

Most tests drive :func:`nngrade.sandbox.run` directly with a one-cell job (the attack is the cell;
it reports what it managed by writing into ``out/``); the last ones run the public ``nngrade
grade`` command on folders of sheet-1 submissions (``tests/submissions/isolation/``, made by
``make_isolation.py`` there). Each test skips, with the reason, when this machine lacks the kernel
feature it checks (``sandbox.describe`` then says which protection is lost).
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from nngrade import _cgroup, _uids, protocol, sandbox

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions" / "isolation"
MODE = sandbox.detect_mode()
ROOT_MODE = MODE in ("namespaces", "user")
CG = _cgroup.parents()
MB = 1 << 20


def need(ok: bool, reason: str) -> None:
    if not ok:
        print(f"SKIP: {reason}")
        pytest.skip(reason)


def cell_job(work: Path, setup: str, code: str) -> dict:
    """A job of one answer cell and no tests, in the format of :mod:`nngrade.protocol`."""
    (work / protocol.IN).mkdir()
    (work / protocol.IN / protocol.cell_file(0)).write_text(code)
    return {"setup": setup, "cells": [protocol.cell_file(0)], "tests": [],
            "protocol": protocol.for_runner()}


def run_cell(code: str, limits: sandbox.Limits | None = None, budget: float | None = None,
             mode: str = MODE, on_start=None) -> tuple[sandbox.RunResult, dict[str, bytes]]:
    """Run one answer cell in a fresh sandbox; return the result and the small files of out/."""
    limits = limits or sandbox.Limits(timeout=10, call_timeout=10)
    work = Path(tempfile.mkdtemp(prefix="nngrade-iso-"))
    try:
        job = cell_job(work, "import numpy as np", textwrap.dedent(code))
        if on_start is not None:
            threading.Thread(target=on_start, args=(work / "out",), daemon=True).start()
        res = sandbox.run(work, job, limits, mode, [], budget=budget)
        files = {}
        for p in (work / "out").iterdir():
            if p.is_file() and not p.is_symlink():
                files[p.name] = p.read_bytes()[:4096]
        return res, files
    finally:
        shutil.rmtree(work, ignore_errors=True)


def wait_for(path: Path, seconds: float = 30) -> bool:
    """Wait until a running sandbox has written ``path`` (its out/ is visible from here)."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def processes_with(mark: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and mark in Path(f"/proc/{entry}/cmdline").read_text():
                pids.append(int(entry))
        except OSError:
            pass
    return pids


# -- item 7: the isolation in force is said, and weaker isolation is refused unless asked ----------

def test_describe_names_what_each_mode_does_not_protect():
    text = sandbox.describe("limits")
    assert "isolation: limits" in text and "NOT protected" in text
    assert "reference solutions" in text and "network" in text
    strongest = sandbox.describe(MODE)
    assert strongest.startswith(f"isolation: {MODE}")
    for lost in sandbox.missing(MODE):
        assert lost in strongest
    print(strongest)


def test_weaker_isolation_is_refused_unless_asked(monkeypatch):
    """A grader that is not root, without and with bubblewrap, as the probe would find it."""
    probe = dict(sandbox._probe(), root=False, bwrap=None, unshare=False, tmpfs=False, cgroups={})
    monkeypatch.setattr(sandbox, "_probe", lambda: probe)
    assert sandbox.detect_mode() == "limits"
    with pytest.raises(sandbox.IsolationUnavailable) as exc:
        sandbox.detect_mode(require="namespaces")
    assert "not root" in str(exc.value) and "--isolation limits" in str(exc.value)
    with pytest.raises(sandbox.IsolationUnavailable, match="not root"):
        sandbox.check("user")
    with pytest.raises(sandbox.IsolationUnavailable, match="bubblewrap"):
        sandbox.check("userns")
    sandbox.check("limits")     # asked for explicitly: allowed
    probe["bwrap"] = "bubblewrap 0.8.0"
    assert sandbox.detect_mode() == "userns"
    assert sandbox.detect_mode(require="userns") == "userns"
    with pytest.raises(sandbox.IsolationUnavailable, match="--isolation userns"):
        sandbox.detect_mode(require="namespaces")
    assert "no private uid" in sandbox.describe("userns")


def test_user_mode_refused_when_the_sandbox_uid_cannot_start_the_interpreter():
    need(os.geteuid() == 0, "needs root")
    if sandbox.interpreter_public():
        sandbox.check("user")
    else:
        with pytest.raises(sandbox.IsolationUnavailable, match="every student would score 0"):
            sandbox.check("user")


def test_strongest_mode_complete_here_or_refused_with_what_is_missing():
    lost = sandbox.missing(MODE)
    if MODE == "namespaces" and not lost:
        assert sandbox.detect_mode(require="namespaces") == "namespaces"
    else:
        with pytest.raises(sandbox.IsolationUnavailable) as exc:
            sandbox.detect_mode(require="namespaces")
        assert "Missing" in str(exc.value)


# -- item 2: uid leases ----------------------------------------------------------------------------------

HOLD = """
import sys, time
from nngrade import _uids
leases = [_uids.acquire(int(sys.argv[1])) for _ in range(int(sys.argv[2]))]
for lease in leases:
    lease.record(cgroups=[], mount=None, note="test")
print(" ".join(str(lease.uid) for lease in leases), flush=True)
time.sleep(60)
"""


def _holder(offset: int, count: int) -> tuple[subprocess.Popen, list[int]]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(offset), str(count)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return proc, [int(u) for u in proc.stdout.readline().split()]


def test_uid_leases_are_exclusive_across_processes_and_recovered_after_a_crash():
    need(os.geteuid() == 0, "uid leases are for root graders")
    # two graders searching from the same uid on still get disjoint uids (the offset keeps this
    # test clear of the uids that graders running meanwhile lease from UID_BASE on)
    offset = 10000 + os.getpid() % 30000
    a, uids_a = _holder(offset, 20)
    b, uids_b = _holder(offset, 20)
    try:
        assert len(uids_a) == len(uids_b) == 20
        assert not set(uids_a) & set(uids_b)
        held = _uids.holders()
        assert all(held.get(u) == a.pid for u in uids_a)
        assert all(held.get(u) == b.pid for u in uids_b)
        mine = _uids.acquire(offset)
        assert mine.uid not in uids_a + uids_b
        mine.release()
    finally:
        a.kill()
        b.kill()
        a.wait()
        b.wait()
    # the killed graders' leases are free again, and the next owner sees what they left
    lease = _uids.acquire(offset)
    try:
        assert lease.uid == uids_a[0]
        assert lease.stale is not None and lease.stale["pid"] == a.pid
        assert lease.stale["note"] == "test"
    finally:
        lease.release()
    again = _uids.acquire(offset)
    assert again.uid == uids_a[0] and again.stale is None   # clean release leaves no record
    again.release()
    for uid in uids_a + uids_b + [mine.uid]:     # nobody else searches from this offset
        (_uids.LEASE_DIR / f"uid-{uid}").unlink(missing_ok=True)


# -- item 3: one submission, bounded as a whole ------------------------------------------------------------

def test_memory_of_all_processes_together_is_bounded():
    need("memory" in CG, "no writable memory cgroup: " + "; ".join(sandbox.missing(MODE)))
    limits = sandbox.Limits(timeout=20, call_timeout=20, memory_mb=512)
    res, files = run_cell("""
        import os, time
        kids = []
        for k in range(8):
            pid = os.fork()
            if pid == 0:
                block = b"x" * (200 << 20)        # 200 MB, every page written
                open("out/child-%d" % k, "w").write("allocated")
                time.sleep(4)
                os._exit(0)
            kids.append(pid)
        for pid in kids:
            os.waitpid(pid, 0)
    """, limits)
    done = [n for n in files if n.startswith("child-")]
    print(f"8 children x 200 MB under a 512 MB limit: {len(done)} allocated, peak "
          f"{res.memory_peak / MB:.0f} MB, {res.oom_kills} killed by the limit")
    assert res.memory_peak is not None and res.memory_peak <= 512 * MB
    assert res.memory_peak >= 200 * MB          # the children did allocate
    # 8 x 200 MB were asked for together; the cgroup held them to 512 MB by killing some. (How
    # many children wrote their marker says nothing about how many held memory at once: one may
    # be killed after writing it, freeing room for the next.)
    assert res.oom_kills >= 2
    assert res.oom_kills >= 1


def test_fork_bomb_stops_at_the_process_limit_and_leaves_nothing():
    need(ROOT_MODE, "needs root (private uid or pids cgroup)")
    limits = sandbox.Limits(timeout=10, call_timeout=10, nproc=40)
    mark = f"nngrade-forkbomb-{os.getpid()}"
    res, files = run_cell(f"""
        import os, time
        n = 0
        try:
            while n < 10000:
                if os.fork() == 0:
                    os.setsid()
                    os.execv("/bin/sleep", ["/bin/sleep", "1000", "{mark}"])
                n += 1
        except OSError as exc:
            pass
        open("out/forks", "w").write(str(n))
    """, limits)
    forks = int(files["forks"])
    print(f"fork bomb under nproc=40: {forks} processes started")
    assert 1 <= forks < 40
    assert processes_with(mark) == []


def test_processes_left_running_after_the_run_are_gone():
    need(ROOT_MODE, "needs root")
    mark = f"nngrade-daemon-{os.getpid()}"
    res, files = run_cell(f"""
        import os
        if os.fork() == 0:                     # a daemon: own session, parent gone
            os.setsid()
            if os.fork() == 0:
                os.execv("/bin/sleep", ["/bin/sleep", "1000", "{mark}"])
            os._exit(0)
        open("out/started", "w").write("yes")
    """)
    assert files.get("started") == b"yes"
    assert processes_with(mark) == []
    for _, parent in CG.values():               # the run's cgroups are removed too
        assert not (parent / f"nngrade-{res.uid}").exists()


SHM = """
import ctypes, ctypes.util, os, time
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
KEY, SIZE = 0x4E4E4731, 64 << 20
"""


def _shm_keys() -> set[int]:
    with open("/proc/sysvipc/shm") as fh:
        next(fh)
        return {int(line.split()[0]) for line in fh}


def test_sysv_shared_memory_neither_outlives_the_run_nor_passes_answers():
    need(MODE == "namespaces", "needs an IPC namespace (namespaces mode): " + MODE)
    key = 0x4E4E4731
    assert key not in _shm_keys()
    reader: dict = {}

    def read_while_writer_holds_it(out: Path) -> None:
        assert wait_for(out / "created")
        reader["res"] = run_cell(SHM + textwrap.dedent("""
            shmid = libc.shmget(KEY, 0, 0)
            open("out/found", "w").write("yes" if shmid >= 0 else "no")
        """))
        reader["while_held"] = key in _shm_keys()

    res, files = run_cell(SHM + textwrap.dedent("""
        shmid = libc.shmget(KEY, SIZE, 0o1000 | 0o666)          # IPC_CREAT, everyone may attach
        addr = libc.shmat(shmid, None, 0)
        ctypes.memset(addr, 42, SIZE)                           # 64 MB really used
        ctypes.memmove(addr, b"answer: x @ w + b", 17)
        open("out/created", "w").write(str(shmid))
        time.sleep(3)                                           # hold it while the other runs
    """), on_start=read_while_writer_holds_it)
    assert int(files["created"]) >= 0
    assert reader["res"][1]["found"] == b"no"        # a concurrent run cannot attach to it
    assert not reader["while_held"]                  # nor can the host see it
    assert key not in _shm_keys()                    # nothing outlives the run


def test_busy_children_in_their_own_sessions_do_not_slow_another_submission():
    need("cpu" in CG and "cpuacct" in CG, "no cpu/cpuacct cgroup: a busy submission can take "
         "every core and time limits are wall-clock")
    honest = """
        import time
        t = time.process_time()
        s = 0
        for i in range(8_000_000):
            s += i
        open("out/cpu", "w").write(repr(time.process_time() - t))
    """
    alone, _ = run_cell(honest)
    started = threading.Event()
    noisy: dict = {}

    def neighbour() -> None:
        noisy["res"] = run_cell("""
            import os, time
            go = time.monotonic() + 0.5
            for k in range(60):
                if os.fork() == 0:
                    os.setsid()
                    while time.monotonic() < go:     # all forked first, then all busy
                        time.sleep(0.01)
                    while True:
                        pass
            time.sleep(max(0.0, go - time.monotonic()))
            open("out/started", "w").write("60")
            time.sleep(5)
            os._exit(0)
        """, on_start=lambda out: wait_for(out / "started") and started.set())
    t = threading.Thread(target=neighbour)
    t.start()
    assert started.wait(30)                # the 60 children are busy now
    crowded, _ = run_cell(honest)
    t.join()
    busy = noisy["res"][0]
    print(f"honest run alone {alone.seconds:.2f} s, beside 60 busy children {crowded.seconds:.2f} s; "
          f"the busy run used {busy.cpu_seconds:.1f} CPU-s in {busy.seconds:.1f} s "
          f"(quota {sandbox.Limits().cpus:g} core)")
    assert not crowded.timed_out
    assert crowded.seconds < 3 * alone.seconds + 0.5     # was about 10x (50x on more cores)
    assert busy.cpu_seconds <= sandbox.Limits().cpus * busy.seconds * 1.15 + 0.2


def test_time_limit_is_charged_in_cpu_time():
    need("cpuacct" in CG, "no cpuacct cgroup: the run's time limit is wall-clock")
    sleeper, _ = run_cell("import time\ntime.sleep(3)\nopen('out/done', 'w').write('1')",
                          budget=2.0)
    spinner, _ = run_cell("while True:\n    pass", budget=2.0)
    assert not sleeper.timed_out and sleeper.seconds >= 3    # idle wall time is not charged
    # stopped once it used its 2 CPU-s, or (on a machine too busy to give it that) at the
    # wall-clock backstop of wall_factor x the budget
    backstop = sandbox.Limits().wall_factor * 2.0
    assert spinner.timed_out
    assert spinner.cpu_seconds < 3.0
    assert spinner.cpu_seconds >= 2.0 or spinner.seconds >= backstop


def test_out_flood_stops_at_the_disk_limit():
    need(ROOT_MODE and sandbox._probe()["tmpfs"], "needs root with tmpfs mounts: out/ unbounded")
    limits = sandbox.Limits(timeout=10, call_timeout=10, disk_mb=64, fsize_mb=16)
    res, files = run_cell("""
        import os, time
        chunk = b"x" * (1 << 20)
        written, k, t0 = 0, 0, time.monotonic()
        try:
            while written < (2 << 30) and time.monotonic() - t0 < 5:     # 2 GB in 5 s
                with open("out/flood-%d" % k, "wb") as fh:
                    for _ in range(16):
                        fh.write(chunk)
                        written += len(chunk)
                k += 1
        except OSError as exc:
            os.remove("out/flood-%d" % k)       # a page of room to report in
            os.truncate("out/flood-0", (16 << 20) - 4096)
            open("out/stopped", "w").write(type(exc).__name__ + " " + str(written >> 20))
    """, limits)
    print(f"out/ flood stopped: {files.get('stopped', b'?').decode()} MB written, "
          f"disk_full={res.disk_full}")
    assert files["stopped"].startswith(b"OSError")
    assert int(files["stopped"].split()[1]) <= 64
    assert res.disk_full


def test_no_network_not_even_the_hosts_loopback():
    need(MODE == "namespaces", "needs a network namespace: " + MODE)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        res, files = run_cell(f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
                r = "connected"
            except OSError as exc:
                r = type(exc).__name__
            open("out/net", "w").write(r)
        """)
    finally:
        server.close()
    assert files["net"] != b"connected"


# -- the public command: concurrent graders, whole folders ----------------------------------------------

HONEST = ["honest_1", "honest_2", "honest_3"]
FOLDER_A = HONEST[:2] + ["busy_setsid", "out_flood", "daemon"]
FOLDER_B = HONEST[1:] + ["shm_writer", "shm_reader", "fork_memory"]


def _grade(folder: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "nngrade.cli", "grade", str(folder),
                             "-o", str(out), "--seed", "5", "-j", "2", "--timeout", "3",
                             "--memory", "512", "--isolation", MODE],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _rows(path: Path) -> dict[str, dict[str, str]]:
    return {r["student"]: r for r in csv.DictReader(io.StringIO(path.read_text()))}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("iso")
    out = {}
    for name, members in (("a", FOLDER_A), ("b", FOLDER_B)):
        d = base / name
        d.mkdir()
        for m in members:
            shutil.copy(SUBMISSIONS / f"{m}.ipynb", d)
        out[name] = d
    return base, out


def test_two_graders_at_once_give_the_gradebooks_each_gives_alone(folders):
    need(ROOT_MODE, "concurrent graders share uids only in the root modes")
    base, dirs = folders
    alone = {}
    for name in dirs:
        p = _grade(dirs[name], base / f"alone-{name}.csv")
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        alone[name] = (base / f"alone-{name}.csv").read_text()
    t0 = time.monotonic()
    procs = {name: _grade(dirs[name], base / f"both-{name}.csv") for name in dirs}
    for p in procs.values():
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    print(f"two graders at once: {time.monotonic() - t0:.1f} s")
    for name in dirs:
        assert (base / f"both-{name}.csv").read_text() == alone[name]
        rows = _rows(base / f"both-{name}.csv")
        for h in set(HONEST) & set(rows):     # no honest student loses points
            assert float(rows[h]["total"]) == 10, rows[h]
    rows = _rows(base / "both-b.csv")
    assert float(rows["shm_reader"]["q1"]) == 0      # no answers through shared memory
    assert processes_with("nngrade-iso-daemon") == []


def test_without_bubblewrap_unshare_still_gives_a_private_ipc_namespace(monkeypatch):
    need(MODE == "namespaces" and sandbox._probe()["unshare"], "needs root with util-linux unshare")
    monkeypatch.setitem(sandbox._probe(), "bwrap", None)      # as if bwrap were not installed
    assert "bubblewrap (bwrap) is not installed" in sandbox.describe("namespaces")
    res, files = run_cell(SHM + textwrap.dedent(f"""
        shmid = libc.shmget(KEY, SIZE, 0o1000 | 0o666)
        ctypes.memset(libc.shmat(shmid, None, 0), 1, SIZE)
        open("out/created", "w").write(str(shmid))
        try:
            open({str(ROOT / "exercises" / "source" / "01_neuron.ipynb")!r}).read()
            open("out/read", "w").write("read the sheet source")
        except OSError as exc:
            open("out/read", "w").write(type(exc).__name__)
    """))
    assert int(files["created"]) >= 0
    assert files["read"] != b"read the sheet source"
    assert 0x4E4E4731 not in _shm_keys()


NON_ROOT = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import shutil, tempfile
from pathlib import Path
from nngrade import protocol, sandbox
mode = sandbox.detect_mode()
work = Path(tempfile.mkdtemp(prefix="nngrade-nr-"))
(work / "in").mkdir()
code = "open('out/read', 'w').write(str(len(open(%r).read())))" % sys.argv[3]
(work / "in" / protocol.cell_file(0)).write_text(code)
job = {"setup": "", "cells": [protocol.cell_file(0)], "tests": [], "protocol": protocol.for_runner()}
res = sandbox.run(work, job, sandbox.Limits(timeout=5, call_timeout=5), mode, [])
read = (work / "out" / "read").read_text() if (work / "out" / "read").exists() else ""
shutil.rmtree(work)
print(mode, res.returncode, read or "-")
print(sandbox.describe(mode))
"""


def test_grader_that_is_not_root_hides_the_sources_or_says_it_does_not():
    """As an ordinary user: 'userns' (bubblewrap) hides the sheet sources; 'limits' cannot and says
    so. Needs root here only to become an ordinary user, and an interpreter that user can run."""
    need(os.geteuid() == 0, "needs root to run the grader as an ordinary user")
    py = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    need(os.access(py, os.X_OK), f"no system {py} (same version as this venv) for the ordinary user")
    source = ROOT / "exercises" / "source" / "01_neuron.ipynb"
    site = sandbox.numpy_path()
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        py, "-I", "-c", NON_ROOT, str(ROOT), site, str(source)],
                       capture_output=True, text=True, timeout=120, cwd="/")
    need(r.returncode == 0 or "Permission denied" not in r.stderr,
         "the ordinary user cannot read this checkout or the venv")
    assert r.returncode == 0, r.stderr
    first, _, text = r.stdout.partition("\n")
    mode, returncode, read = first.split()
    assert returncode == "0"
    if mode == "userns":
        assert read in ("-", "0")                 # the sheet source is not there
    else:
        assert mode == "limits" and int(read) == len(source.read_text())
        assert "reference solutions" in text      # and the grader says so


CRASH = """
import sys, tempfile
from pathlib import Path
from nngrade import protocol, sandbox
work = Path(tempfile.mkdtemp(prefix="nngrade-crash-"))
(work / "in").mkdir()
(work / "in" / protocol.cell_file(0)).write_text(
    "import time\\nopen('out/started', 'w').write('1')\\ntime.sleep(60)")
job = {"setup": "", "cells": [protocol.cell_file(0)], "tests": [], "protocol": protocol.for_runner()}
print(work, flush=True)
sandbox.run(work, job, sandbox.Limits(timeout=60, call_timeout=60), sys.argv[1], [])
"""


def test_what_a_killed_grader_left_is_removed_by_the_next_owner_of_its_uid():
    need(ROOT_MODE, "uid leases are for root graders")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    grader = subprocess.Popen([sys.executable, "-c", CRASH, MODE], stdout=subprocess.PIPE,
                              text=True, env=env, cwd=ROOT)
    work = Path(grader.stdout.readline().strip())
    try:
        assert wait_for(work / "out" / "started")
        uid = os.stat(work / "out").st_uid
        held = _uids.holders()
        assert held.get(uid) == grader.pid
    finally:
        grader.kill()                          # SIGKILL: no clean-up of its own
        grader.wait()
    leftovers = [parent / f"nngrade-{uid}" for _, parent in CG.values()]
    mounted = sandbox._mounted(str(work / "out"))
    print(f"killed grader left: {sum(p.exists() for p in leftovers)} cgroup folders, "
          f"out/ tmpfs mounted: {mounted}")
    lease = _uids.acquire(uid - _uids.UID_BASE)
    try:
        assert lease.uid == uid and lease.stale is not None and lease.stale["pid"] == grader.pid
        sandbox._recover(lease)
    finally:
        lease.release()
    assert not any(p.exists() for p in leftovers)
    assert not sandbox._mounted(str(work / "out"))
    assert not [e for e in os.listdir("/proc") if e.isdigit() and _owner(e) == uid]
    shutil.rmtree(work, ignore_errors=True)


def _owner(pid: str) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def test_cgroup_v2_accounting_and_kill(monkeypatch):
    """The v2 code path, on whatever v2 hierarchy is mounted (hybrid machines have one without
    controllers: this checks CPU accounting and ``cgroup.kill``, not v2 memory/pids/cpu limits)."""
    need(os.geteuid() == 0, "needs root to create cgroups")
    v2 = [(root, point) for fstype, root, point, _ in _cgroup._mounts() if fstype == "cgroup2"]
    need(bool(v2), "no cgroup v2 hierarchy mounted")
    parent = _cgroup._join(*v2[0], _cgroup._own().get("", "/"))
    need(parent is not None and _cgroup._writable(parent), "the v2 hierarchy is not writable here")
    monkeypatch.setattr(_cgroup, "parents", lambda: {"cpuacct": ("v2", parent)})
    cg = _cgroup.RunCgroup(f"nngrade-v2test-{os.getpid()}", 256 * MB, 16, 1.0)
    try:
        proc = subprocess.Popen(["/bin/sh", "-c", sandbox._JOIN, "join", *cg.procs_files, "--",
                                 "/bin/sh", "-c", "sleep 100 & while :; do :; done"])
        deadline = time.monotonic() + 30
        while (cg.cpu_seconds() or 0) < 0.05 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(cg.pids()) == 2                 # the shell and its background sleep
        assert cg.cpu_seconds() >= 0.05
        assert cg.kill()
        proc.wait(timeout=10)
        assert cg.pids() == set()
    finally:
        cg.remove()
    assert not (parent / f"nngrade-v2test-{os.getpid()}").exists()
