"""The nnlib benchmark suite: ``make bench`` or ``python -m bench.run [options]``.

Each workload runs in its own process (``python -m bench.<workload>``), where every contender trains
on the same data from the same initial weights (nnlib's, seed 0) in the same batch order (the
order ``nnlib.fit`` draws): nnlib; an independent plain-NumPy implementation (``bench/c_numpy.py``);
PyTorch CPU (``nn.Sequential`` + ``torch.optim.SGD``, float64) if installed; scikit-learn's
``MLPClassifier`` for the softmax workloads. Times are medians of several repeats, run round-robin.
BLAS libraries run at ``--threads`` threads (default 1: OMP/OPENBLAS/MKL_NUM_THREADS are set for
the worker and threadpoolctl limits them inside it).

PyTorch is optional and stays out of requirements.txt: ``.venv/bin/pip install torch==2.13.0``
(a CPU-only wheel, about 750 MB installed); without it the torch contender is skipped with the reason printed.

Workloads: ``xor`` (2-4-1, 10,000 full-batch epochs, and the stripped kernels that bound it),
``digits`` (64-128-10, 20 epochs, batch 32 and 256, float64 and float32), ``mnist`` (60,000 x 784
random data, 784-256-256-10, batch 128, one epoch, float64 and float32, fraction of GEMM peak),
``startup`` (import, cold-cache and warm-cache first call).

Options: ``--smoke`` (every workload minuscule; for the test), ``--threads N``, ``--only a,b``,
``--json PATH`` (default ``_build/bench.json``), ``--chapter-data`` (also write
``nnlib/data/bench.json``, which chapters 8 and 9 cite through
``nnlib.course.bench_report()``).

JSON schema (``schema`` = 1)::

    schema, mode ("full" | "smoke"), created (UTC ISO time), threads, wall_s,
    load_before / load_after   os.getloadavg() around the run (1, 5, 15 min),
    environment   python/numpy/numba/scipy/torch/sklearn versions, cpu, cores,
                  env (OMP_/OPENBLAS_/MKL_NUM_THREADS, OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE, ...),
                  blas: [{user_api, internal_api, version, architecture (the kernel),
                          threading_layer, num_threads, prefix, file}]  (threadpoolctl, in a worker)
    workloads:
      xor, mnist:       a *run*
      xor also has:     nnlib_epoch_us, nnlib_cpu_epoch_us, limit {transcendentals_epoch_s, stripped_epoch_s,
                        stripped_max_param_diff} (the
                        stripped kernels of bench.xor_limit: nnlib's distance to the limit)
      digits:           {"runs": {"batch32": run, "batch256": run, "batch32_float32": run,
                        "batch256_float32": run}}
      mnist also has:   gemm_flops_per_epoch, peak_gflops {float32, float64, n, float32_cpu,
                        float64_cpu (the peaks timed by CPU time, for the *_cpu fractions)}, float32 (a run of
                        nnlib, NumPy and PyTorch in float32, with the same gflops/peak fields)
      startup:          import_s, cold_first_s, cold_predict_s (None in smoke mode), warm_first_s, warm_predict_s,
                        import_cpu_s, cold_first_cpu_s, warm_first_cpu_s, processes {cold, warm}
      a run:            spec {sizes, hidden, output, loss, lr, momentum, batch, epochs},
                        n_samples, initial_loss, skipped {contender: reason},
                        [gemm_only_epoch_s] (digits, mnist: the epoch's matrix products alone, NumPy, best of
                        the repeats: a floor), [gemm_floor_ratio] (nnlib's epoch / that floor),
                        [gemm_only_epoch_cpu_s, gemm_floor_ratio_cpu] (the same from CPU times),
                        contenders {name: {time {median_s, min_s, max_s, repeats}, epoch_s,
                          cpu_epoch_s, cpu_speedup (from CPU time: less disturbed by load),
                          samples_per_s, speedup (contender time / nnlib time), loss_first,
                          loss_last (mean training loss of the first / last epoch),
                          train_loss, train_acc, [test_loss, test_acc] (final weights, one shared
                          NumPy evaluation), max_param_diff (max |theta - theta_nnlib|),
                          [gflops, peak_fraction_f32, peak_fraction_f64, and *_cpu: the same
                          from CPU time] (mnist)}}
      a workload that failed: {"error": "..."}
    targets: [{name, value, target, op (">=" | "<="), met}]
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ("xor", "digits", "mnist", "startup")

# (name, path into the JSON, target, op); the speed-ups are contender time / nnlib time.
TARGETS = [
    ("XOR: nnlib vs NumPy", ("xor", "contenders", "numpy", "speedup"), 30, ">="),
    ("XOR: nnlib vs PyTorch", ("xor", "contenders", "torch", "speedup"), 300, ">="),
    ("Digits b32: nnlib vs NumPy", ("digits", "runs", "batch32", "contenders", "numpy", "speedup"), 4, ">="),
    ("Digits b32: nnlib vs PyTorch", ("digits", "runs", "batch32", "contenders", "torch", "speedup"), 15, ">="),
    ("Digits b256: nnlib vs NumPy", ("digits", "runs", "batch256", "contenders", "numpy", "speedup"), 1.4, ">="),
    ("784-256-256-10: nnlib vs NumPy", ("mnist", "contenders", "numpy", "speedup"), 1.2, ">="),
    ("784-256-256-10: nnlib vs PyTorch", ("mnist", "contenders", "torch", "speedup"), 1.3, ">="),
    ("784-256-256-10: fraction of f64 GEMM peak", ("mnist", "contenders", "nnlib", "peak_fraction_f64"), 0.65, ">="),
    # issue 14
    ("784-256-256-10 float32: fraction of f32 peak", ("mnist", "float32", "contenders", "nnlib", "peak_fraction_f32"), 0.65, ">="),
    ("784-256-256-10 float32: the same, CPU time", ("mnist", "float32", "contenders", "nnlib", "peak_fraction_f32_cpu"), 0.65, ">="),
    ("XOR: nnlib per epoch (us)", ("xor", "nnlib_epoch_us"), 0.45, "<="),
    ("XOR: nnlib per epoch, CPU time (us)", ("xor", "nnlib_cpu_epoch_us"), 0.45, "<="),
    ("XOR: nnlib vs NumPy, CPU time", ("xor", "contenders", "numpy", "cpu_speedup"), 30, ">="),
    ("Digits b32: nnlib epoch / GEMM-only floor", ("digits", "runs", "batch32", "gemm_floor_ratio"), 1.1, "<="),
    ("Digits b32: the same from CPU times", ("digits", "runs", "batch32", "gemm_floor_ratio_cpu"), 1.1, "<="),
    ("Start-up: import nnlib (s)", ("startup", "import_s"), 0.3, "<="),
    ("Start-up: first call, warm cache (s)", ("startup", "warm_first_s"), 0.3, "<="),
    ("Start-up: first call, cold cache (s)", ("startup", "cold_first_s"), 3.0, "<="),
]


def run_worker(name: str, smoke: bool, threads: int) -> dict:
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    env.pop("NUMBA_DISABLE_JIT", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory(prefix="bench-") as d:
        out = Path(d) / f"{name}.json"
        cmd = [sys.executable, "-m", f"bench.{name}", "--out", str(out), "--threads", str(threads)]
        if smoke:
            cmd.append("--smoke")
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        took = time.perf_counter() - t
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
            print(f"[bench] {name} FAILED:\n  " + "\n  ".join(tail), file=sys.stderr)
            return {"error": "\n".join(tail)}
        res = json.loads(out.read_text())
    res["wall_s"] = took
    return res


def lookup(data: dict, path: tuple) -> float | None:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def check_targets(workloads: dict) -> list[dict]:
    rows = []
    for name, path, target, op in TARGETS:
        v = lookup(workloads, path)
        met = None if v is None else (v >= target if op == ">=" else v <= target)
        rows.append({"name": name, "value": v, "target": target, "op": op, "met": met})
    return rows


# ----------------------------------------------------------------------------- the table
def _fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.3g} us"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def run_table(title: str, run: dict, extra: bool = False) -> list[str]:
    lines = [f"{title}  [{run['n_samples']} samples, sizes {run['spec']['sizes']}, batch "
             f"{run['spec']['batch']}, {run['spec']['epochs']} epoch(s); loss at start "
             f"{run['initial_loss']:.4f}]"]
    hdr = f"  {'contender':<9} {'time/epoch':>11} {'samples/s':>11} {'x nnlib':>8} " \
          f"{'cpu x':>6} {'final loss':>11} {'accuracy':>9} {'max|dθ|':>8}"
    if extra:
        hdr += f" {'GFLOP/s':>8} {'%f32pk':>7} {'%f64pk':>7}"
    lines.append(hdr)
    for name, r in run["contenders"].items():
        acc = r.get("test_acc", r["train_acc"])
        line = (f"  {name:<9} {_fmt_time(r['epoch_s']):>11} {r['samples_per_s']:>11.4g} "
                f"{r.get('speedup', float('nan')):>8.2f} {r.get('cpu_speedup', float('nan')):>6.2f} "
                f"{r['train_loss']:>11.5f} "
                f"{acc:>9.4f} {r.get('max_param_diff', float('nan')):>8.1e}")
        if extra:
            line += (f" {r['gflops']:>8.1f} {100 * r['peak_fraction_f32']:>6.0f}% "
                     f"{100 * r['peak_fraction_f64']:>6.0f}%")
        lines.append(line)
    for name, why in run.get("skipped", {}).items():
        lines.append(f"  {name:<9} skipped: {why}")
    g = run.get("gemm_only_epoch_s")
    if g and "nnlib" in run["contenders"]:
        c = run["contenders"]
        best = {n: r["epoch_s"] / g for n, r in c.items() if n != "nnlib"}
        lines.append(f"  matrix products alone (NumPy, same shapes): {_fmt_time(g)}/epoch = "
                     f"{100 * g / c['nnlib']['epoch_s']:.0f}% of nnlib's epoch; a BLAS-based "
                     "implementation can be at most " + ", ".join(
                         f"{v:.1f}x faster than {n}" for n, v in best.items()))
    lines.append("")
    return lines


def table(report: dict) -> str:
    w, env = report["workloads"], report["environment"]
    L = [f"nnlib benchmark ({report['mode']}) {report['created']}, {report['threads']} BLAS "
         f"thread(s), load average before/after {report['load_before'][0]:.2f} / "
         f"{report['load_after'][0]:.2f}, suite {report['wall_s']:.0f} s",
         f"  CPU {env.get('cpu')} ({env.get('cores')} cores); Python {env.get('python')}, NumPy "
         f"{env.get('numpy')}, Numba {env.get('numba')}, SciPy {env.get('scipy')}, PyTorch "
         f"{env.get('torch', 'not installed')}, scikit-learn {env.get('sklearn', '-')}",
         "  thread/BLAS environment: " + (", ".join(f"{k}={v}" for k, v in env["env"].items()
                                                    if k != "NUMBA_CACHE_DIR") or "(none set)"),
         "  OPENBLAS_CORETYPE " + (f"= {env['env']['OPENBLAS_CORETYPE']} (forces an OpenBLAS kernel; "
                                   "may halve its speed)" if "OPENBLAS_CORETYPE" in env["env"]
                                   else "not set")]
    for b in env.get("blas", []):
        L.append(f"  {b.get('user_api')}: {b.get('internal_api')} {b.get('version', '')} kernel "
                 f"{b.get('architecture', '-')} threads={b.get('num_threads')} "
                 f"({b.get('threading_layer', '-')}) {b.get('file')}")
    L.append("  x nnlib = contender time / nnlib time (how many times faster nnlib is; medians of "
             "wall-clock times, the targets' measure); cpu x = the same from CPU time; accuracy "
             "on the test split for digits, training set otherwise; max|dθ| = largest difference "
             "of the final weights from nnlib's.")
    L.append("")
    if "error" in w.get("xor", {}):
        L.append(f"XOR: FAILED {w['xor']['error']}")
    elif "xor" in w:
        L += run_table("1. XOR 2-4-1 tanh/sigmoid, MSE, full batch, lr 0.5", w["xor"])
        lim = w["xor"].get("limit")
        if lim:
            us = w["xor"]["nnlib_epoch_us"]
            L.insert(-1, f"  the limit (bench/xor_limit.py, best of the repeats): 16 tanh + 4 sigmoid alone "
                         f"{lim['transcendentals_epoch_s'] * 1e6:.3f} us/epoch; the epoch hand-"
                         f"specialised to 2-4-1 {lim['stripped_epoch_s'] * 1e6:.3f} us (same weights "
                         f"to {lim['stripped_max_param_diff']:.0e}); nnlib {us:.3f} us = "
                         f"{us / (lim['stripped_epoch_s'] * 1e6):.2f}x the stripped epoch, "
                         f"{us / (lim['transcendentals_epoch_s'] * 1e6):.1f}x the transcendentals")
    if "digits" in w and "error" not in w["digits"]:
        for k, r in w["digits"]["runs"].items():
            L += run_table(f"2. Digits 64-128-10 ReLU/softmax CE, SGD momentum 0.9, {k}", r)
            if "gemm_floor_ratio" in r:
                L.insert(-1, f"  nnlib's epoch / the matrix products alone: {r['gemm_floor_ratio']:.2f}x "
                             f"(from CPU times: {r.get('gemm_floor_ratio_cpu', float('nan')):.2f}x)")
    if "mnist" in w and "error" not in w["mnist"]:
        m = w["mnist"]
        L += run_table("3. MNIST-shaped random data 784-256-256-10 ReLU/softmax CE, momentum 0.9",
                       m, extra=True)
        pk = m["peak_gflops"]
        L.append(f"  GEMM peak ({pk['n']}x{pk['n']} NumPy matmul, same threads, best of 10): float32 "
                 f"{pk['float32']:.1f} GFLOP/s, float64 {pk['float64']:.1f} GFLOP/s; "
                 f"{m['gemm_flops_per_epoch'] / 1e9:.1f} GFLOP of products per epoch. All "
                 f"contenders compute in float64: %f64pk is like-for-like, %f32pk is at most ~50%.")
        if "float32" in m:
            L += run_table("3b. The same in float32 (MLP(..., dtype=\"float32\"), NumPy and PyTorch "
                           "float32): %f32pk is like-for-like", m["float32"], extra=True)
    if "startup" in w and "error" not in w["startup"]:
        s = w["startup"]
        cold = ("not measured (smoke mode)" if s["cold_first_s"] is None else
                f"{s['cold_first_s']:.2f} s ({s['cold_first_cpu_s']:.2f}), then first predict "
                f"{s['cold_predict_s']:.3f} s")
        L.append(f"4. Start-up (new processes; CPU time in brackets): import nnlib "
                 f"{s['import_s']:.3f} s ({s['import_cpu_s']:.3f}); first fit (XOR, 1 epoch) "
                 f"with a cold cache {cold}; with a warm cache {s['warm_first_s']:.3f} s "
                 f"({s['warm_first_cpu_s']:.3f}), then first predict {s['warm_predict_s']:.3f} s")
    for name, r in w.items():
        if "error" in r:
            L.append(f"{name}: FAILED (see stderr)")
    L.append("")
    L.append("Targets:")
    for t in report["targets"]:
        v = t["value"]
        mark = "n/a " if t["met"] is None else ("MET " if t["met"] else "MISS")
        vs = "-" if v is None else f"{v:.3g}"
        L.append(f"  [{mark}] {t['name']:<45} {vs:>8}  (target {t['op']} {t['target']})")
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--smoke", action="store_true", help="tiny workloads (seconds), for tests")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--only", default=",".join(WORKLOADS))
    p.add_argument("--json", default=str(ROOT / "_build" / "bench.json"))
    p.add_argument("--chapter-data", action="store_true",
                   help="also write nnlib/data/bench.json (the figures the chapters cite)")
    a = p.parse_args(argv)
    names = [n for n in a.only.split(",") if n]
    bad = set(names) - set(WORKLOADS)
    if bad:
        p.error(f"unknown workload(s) {sorted(bad)}; choose from {WORKLOADS}")
    t0 = time.perf_counter()
    report: dict = {"schema": 1, "mode": "smoke" if a.smoke else "full",
                    "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "threads": a.threads, "load_before": list(os.getloadavg())}
    workloads = {}
    for n in names:
        print(f"[bench] {n} ...", file=sys.stderr, flush=True)
        workloads[n] = run_worker(n, a.smoke, a.threads)
    report["load_after"] = list(os.getloadavg())
    report["wall_s"] = time.perf_counter() - t0
    env: dict = {}
    for w in workloads.values():  # union over the workers (xor imports no scikit-learn, ...)
        e = w.pop("environment", None) or {}
        blas = {b["file"]: b for b in env.get("blas", []) + e.get("blas", [])}
        env.update(e)
        env["blas"] = list(blas.values())
    report["environment"] = env or {"env": {}}
    report["workloads"] = workloads
    report["targets"] = check_targets(workloads)
    text = table(report)
    print(text)
    paths = [Path(a.json)] + ([ROOT / "nnlib" / "data" / "bench.json"] if a.chapter_data else [])
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1) + "\n")
        print(f"[bench] wrote {path}", file=sys.stderr)
    return 1 if any("error" in w for w in workloads.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
