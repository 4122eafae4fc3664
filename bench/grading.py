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
pool (target: within 15 %), and whether the gradebooks are identical (they must be), and writes
the numbers to ``--json`` (default ``_build/bench-grading.json``). ``--repeat R`` runs the paths
in turn R times and compares medians (the load of a shared machine drifts).
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


def _shards(subs: Path, work: Path, cores: int, opts: list[str]) -> float:
    start = time.monotonic()
    parts = []
    for i in range(4):
        part = work / "parts" / f"part{i}.csv"
        _grade(subs, part, "--shard", f"{i}/4", "-j", str(cores), opts=opts)
        parts.append(str(part))
    merge = subprocess.run([*NNGRADE, "merge", *parts, "-o", str(work / "shards" / "grades.csv")],
                           env=_env(), cwd=ROOT, capture_output=True, text=True)
    if merge.returncode != 0:
        raise RuntimeError(f"nngrade merge failed:\n{merge.stderr[-3000:]}")
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="submissions (default 1000)")
    ap.add_argument("--cores", type=int, default=2, help="cores for each path (default 2)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds; the paths run in turn in each round (on a shared machine the "
                         "load drifts: several rounds and the median compare them fairly)")
    ap.add_argument("--paths", default="local,dask,shards", help="which paths (default all)")
    ap.add_argument("--timeout", default="5", help="nngrade --timeout (default 5)")
    ap.add_argument("--call-timeout", default="1", help="nngrade --call-timeout (default 1)")
    ap.add_argument("--json", default=str(ROOT / "_build" / "bench-grading.json"))
    args = ap.parse_args(argv)
    paths = args.paths.split(",")
    opts = ["--seed", "20261130", "--timeout", args.timeout, "--call-timeout", args.call_timeout]
    work = Path(tempfile.mkdtemp(prefix="nngrade-bench-"))
    try:
        subs = work / "subs"
        counts = make_submissions(subs, args.n)
        print(f"{args.n} submissions of 01_neuron: "
              + ", ".join(f"{v} {k}" for k, v in counts.items()), flush=True)
        times: dict[str, list[float]] = {k: [] for k in paths}
        books: set[str] = set()
        first: dict[str, str] = {}
        differ: list[str] = []
        with contextlib.ExitStack() as stack:
            address = (stack.enter_context(dask_cluster(workers=args.cores, threads=1))
                       if "dask" in paths else None)
            for r in range(args.repeat):
                for path in paths:
                    out = work / path / "grades.csv"
                    shutil.rmtree(out.parent, ignore_errors=True)
                    shutil.rmtree(work / "parts", ignore_errors=True)
                    if path == "local":
                        t = _grade(subs, out, "-j", str(args.cores), opts=opts)
                    elif path == "dask":
                        t = _grade(subs, out, "--scheduler", address, opts=opts)
                    else:
                        t = _shards(subs, work, args.cores, opts)
                    times[path].append(t)
                    books.add(out.read_text())
                    for line in out.read_text().splitlines()[1:]:
                        who = line.split(",", 1)[0]
                        if first.setdefault(who, line) != line:
                            differ.append(f"round {r + 1}, {path}: {line}  (first: {first[who]})")
                    print(f"round {r + 1}, {path}: {t:.1f} s (load {os.getloadavg()[0]:.1f})",
                          flush=True)
        identical = len(books) == 1
        median = {k: float(np.median(v)) for k, v in times.items()}
        rates = {k: args.n / t / args.cores for k, t in median.items()}
        print(f"\npath     median s   submissions/s/core   ({args.cores} cores, {args.repeat} "
              f"round(s))")
        for k, t in median.items():
            print(f"{k:8s} {t:9.1f}   {rates[k]:8.3f}")
        overhead = median["dask"] / median["local"] - 1 if {"dask", "local"} <= set(paths) \
            else None
        if overhead is not None:
            print(f"\nDask overhead over the local pool: {overhead:+.1%} (target: within 15%): "
                  f"{'met' if overhead <= 0.15 else 'NOT met'}")
        print(f"gradebooks identical across every path and round: {identical}")
        for line in differ:
            print(f"  differs: {line}")
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "n": args.n, "cores": args.cores, "rounds": args.repeat, "mix": counts,
            "seconds": times, "median_seconds": median, "per_core_rate": rates,
            "dask_overhead": overhead, "identical": identical, "differ": differ,
            "load_after": os.getloadavg(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=1))
        return 0 if identical else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
