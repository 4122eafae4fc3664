"""The grader's benchmark: ``python -m bench.grading [--n 1000]`` (``make bench-grading``).

Grades ``--n`` generated submissions of sheet 01_neuron (a mix of correct, wrong, crashing,
looping and cheating ones, copied from ``tests/submissions/01_neuron/``) three ways on the same
cores, with one fixed seed:

* ``local``: ``nngrade grade -j CORES`` (a local process pool);
* ``dask``: ``nngrade grade --scheduler tcp://...`` on a Dask cluster of ``CORES`` workers of one
  thread each (a ``dask scheduler`` and ``dask worker`` processes started here on 127.0.0.1);
* ``shards``: ``nngrade grade --shard I/4 -j CORES`` for I = 0..3 one after the other, then
  ``nngrade merge``.

It prints submissions per second per core for each path, the overhead of Dask over the local
pool (target: within 15 %), and whether the three gradebooks are identical (they must be), and
writes the numbers to ``--json`` (default ``_build/bench-grading.json``).
:func:`dask_cluster` and :func:`make_submissions` are also used by ``tests/test_grader_scale.py``.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions" / "01_neuron"
BIN = Path(sys.executable).parent
NNGRADE = [sys.executable, "-m", "nngrade.cli"]

# kind -> (share of the batch, source submissions)
MIX = {
    "correct": (0.55, ["honest", "percent_continuation_and_help", "inplace_restored_at_exit"]),
    "wrong": (0.17, ["hardcoded_public", "renamed_function", "missing_cell",
                     "returns_extra_items_in_place_of_number"]),
    "crashing": (0.12, ["exception", "sys_exit", "os_exit", "invalid", "sys_exit_cell"]),
    "looping": (0.02, ["infinite_loop", "infinite_loop_ignores_alarm"]),
    "cheating": (0.14, ["monkeypatch_numpy", "import_nnlib", "read_reference", "write_files",
                        "print_fake_results", "patch_checker", "replace_builtins"]),
}


def make_submissions(folder: Path, n: int, seed: int = 0) -> dict[str, int]:
    """``n`` notebooks ``s0000_<source>.ipynb`` in ``folder``, kinds drawn with the shares of
    :data:`MIX` (seeded); returns the count of each kind."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    kinds = list(MIX)
    p = np.array([MIX[k][0] for k in kinds])
    counts = dict.fromkeys(kinds, 0)
    for i, k in enumerate(rng.choice(len(kinds), size=n, p=p / p.sum())):
        kind = kinds[k]
        source = MIX[kind][1][rng.integers(len(MIX[kind][1]))]
        shutil.copy(SUBMISSIONS / f"{source}.ipynb", folder / f"s{i:04d}_{source}.ipynb")
        counts[kind] += 1
    return counts


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
    for p in reversed(procs):
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)


@contextlib.contextmanager
def dask_cluster(workers: int = 2, threads: int = 1, timeout: float = 90) -> Iterator[str]:
    """A real Dask cluster on 127.0.0.1 for the duration of the block: a ``dask scheduler`` on a
    free port (it writes its address to a scheduler file) and ``workers`` ``dask worker``
    processes of ``threads`` threads each; yields the scheduler's address. Every wait is bounded
    by ``timeout`` seconds, and every process is stopped on the way out, whatever happens."""
    from distributed import Client

    tmp = Path(tempfile.mkdtemp(prefix="nngrade-dask-"))
    sfile = tmp / "scheduler.json"
    procs: list[subprocess.Popen] = []
    log = open(tmp / "cluster.log", "wb")

    def start(argv: list[str]) -> None:
        procs.append(subprocess.Popen(argv, env=_env(), cwd=tmp, stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))
    try:
        start([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
               "--no-dashboard", "--scheduler-file", str(sfile)])
        deadline = time.monotonic() + timeout
        while not sfile.exists() or not sfile.read_text().strip():
            if procs[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the dask scheduler did not start:\n"
                                   + (tmp / "cluster.log").read_text()[-3000:])
            time.sleep(0.2)
        address = json.loads(sfile.read_text())["address"]
        for k in range(workers):
            start([str(BIN / "dask"), "worker", "--scheduler-file", str(sfile), "--host",
                   "127.0.0.1", "--nthreads", str(threads), "--no-nanny", "--no-dashboard",
                   "--name", f"w{k}", "--local-directory", str(tmp / f"w{k}"),
                   "--death-timeout", str(int(timeout))])
        with Client(address, timeout=f"{int(timeout)}s") as client:
            client.wait_for_workers(workers, timeout=timeout)
        yield address
    finally:
        _stop(procs)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _grade(folder: Path, out: Path, *extra: str, opts: list[str]) -> float:
    start = time.monotonic()
    run = subprocess.run([*NNGRADE, "grade", str(folder), "-o", str(out), "--sheet", "01_neuron",
                          "-q", *opts, *extra], env=_env(), cwd=ROOT, capture_output=True,
                         text=True)
    if run.returncode != 0:
        raise RuntimeError(f"nngrade grade {' '.join(extra)} failed:\n{run.stderr[-3000:]}")
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="submissions (default 1000)")
    ap.add_argument("--cores", type=int, default=2, help="cores for each path (default 2)")
    ap.add_argument("--timeout", default="5", help="nngrade --timeout (default 5)")
    ap.add_argument("--call-timeout", default="1", help="nngrade --call-timeout (default 1)")
    ap.add_argument("--json", default=str(ROOT / "_build" / "bench-grading.json"))
    args = ap.parse_args(argv)
    opts = ["--seed", "20261130", "--timeout", args.timeout, "--call-timeout", args.call_timeout]
    work = Path(tempfile.mkdtemp(prefix="nngrade-bench-"))
    try:
        subs = work / "subs"
        counts = make_submissions(subs, args.n)
        print(f"{args.n} submissions of 01_neuron: "
              + ", ".join(f"{v} {k}" for k, v in counts.items()), flush=True)
        times: dict[str, float] = {}
        times["local"] = _grade(subs, work / "local" / "grades.csv", "-j", str(args.cores),
                                opts=opts)
        print(f"local: {times['local']:.1f} s", flush=True)
        with dask_cluster(workers=args.cores, threads=1) as address:
            times["dask"] = _grade(subs, work / "dask" / "grades.csv", "--scheduler", address,
                                   opts=opts)
        print(f"dask: {times['dask']:.1f} s", flush=True)
        start = time.monotonic()
        parts = []
        for i in range(4):
            part = work / "parts" / f"part{i}.csv"
            _grade(subs, part, "--shard", f"{i}/4", "-j", str(args.cores), opts=opts)
            parts.append(str(part))
        merge = subprocess.run([*NNGRADE, "merge", *parts, "-o", str(work / "merged" / "grades.csv")],
                               env=_env(), cwd=ROOT, capture_output=True, text=True)
        if merge.returncode != 0:
            raise RuntimeError(f"nngrade merge failed:\n{merge.stderr[-3000:]}")
        times["shards"] = time.monotonic() - start
        print(f"shards: {times['shards']:.1f} s", flush=True)
        books = {k: (work / d / "grades.csv").read_text()
                 for k, d in (("local", "local"), ("dask", "dask"), ("shards", "merged"))}
        identical = len(set(books.values())) == 1
        rates = {k: args.n / t / args.cores for k, t in times.items()}
        overhead = times["dask"] / times["local"] - 1
        print("\npath     seconds   submissions/s/core")
        for k, t in times.items():
            print(f"{k:8s} {t:8.1f}   {rates[k]:8.3f}")
        print(f"\nDask overhead over the local pool: {overhead:+.1%} (target: within 15%): "
              f"{'met' if overhead <= 0.15 else 'NOT met'}")
        print(f"gradebooks identical across the three paths: {identical}")
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "n": args.n, "cores": args.cores, "mix": counts, "seconds": times,
            "per_core_rate": rates, "dask_overhead": overhead, "identical": identical,
            "load_after": os.getloadavg(), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                    time.gmtime())}, indent=1))
        return 0 if identical else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
