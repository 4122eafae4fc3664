"""The benchmark suite in smoke mode (minuscule workloads): every field is there and every
contender learned. Never asserts speed (the machine may be busy or throttled)."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import TARGETS, WORKLOADS  # noqa: E402

RUN_FIELDS = {"time", "epoch_s", "cpu_epoch_s", "cpu_speedup", "samples_per_s", "speedup", "loss_first",
              "loss_last", "train_loss", "train_acc", "max_param_diff"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "bench.run", "--smoke", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Targets:" in proc.stdout
    return json.loads(out.read_text())


def runs(report):
    w = report["workloads"]
    yield "xor", w["xor"]
    for k, r in w["digits"]["runs"].items():
        yield f"digits/{k}", r
    yield "mnist", w["mnist"]
    yield "mnist/float32", w["mnist"]["float32"]


def test_top_level_fields(report):
    assert report["schema"] == 1 and report["mode"] == "smoke"
    for key in ("created", "threads", "load_before", "load_after", "environment", "workloads",
                "targets", "wall_s"):
        assert key in report
    env = report["environment"]
    for key in ("python", "numpy", "numba", "scipy", "cpu", "cores", "env", "blas"):
        assert key in env
    assert any(b.get("internal_api") for b in env["blas"])
    assert set(report["workloads"]) == set(WORKLOADS)
    assert len(report["targets"]) == len(TARGETS)
    torch_skipped = "torch" in report["workloads"]["xor"]["skipped"]
    for t in report["targets"]:
        assert t["value"] is not None or (torch_skipped and "PyTorch" in t["name"]) \
            or "cold cache" in t["name"], t


def test_every_contender_learned_the_same_thing(report):
    for name, run in runs(report):
        assert {"spec", "n_samples", "initial_loss", "contenders", "skipped"} <= set(run), name
        c = run["contenders"]
        assert "nnlib" in c and "numpy" in c, name
        assert ("torch" in c) != ("torch" in run["skipped"]), name
        for who, r in c.items():
            assert RUN_FIELDS <= set(r), (name, who)
            assert r["time"]["median_s"] > 0 and r["time"]["repeats"] >= 1
            assert r["train_loss"] < run["initial_loss"], (name, who)  # it learned
            assert math.isfinite(r["loss_last"])
            # same data, weights, batch order and algorithm: the same final weights (to float32
            # rounding, about 1e-7 per step, for the float32 runs)
            tol = 1e-4 if run["spec"].get("dtype") == "float32" else 1e-8
            assert r["max_param_diff"] < tol, (name, who, r["max_param_diff"])


def test_mnist_peak_fields(report):
    m = report["workloads"]["mnist"]
    assert m["peak_gflops"]["float32"] > 0 and m["peak_gflops"]["float64"] > 0
    for r in list(m["contenders"].values()) + list(m["float32"]["contenders"].values()):
        assert {"gflops", "peak_fraction_f32", "peak_fraction_f64", "peak_fraction_f32_cpu"} <= set(r)


def test_float32_runs_and_floors(report):
    """The float32 table beside the float64 one (issue 14), the GEMM-floor ratio, XOR's limit."""
    w = report["workloads"]
    for run in (w["mnist"]["float32"], w["digits"]["runs"]["batch32_float32"]):
        assert run["spec"]["dtype"] == "float32"
        assert {"nnlib", "numpy"} <= set(run["contenders"])
        assert "sklearn" not in run["contenders"]
    for r in w["digits"]["runs"].values():
        assert r["gemm_floor_ratio"] == pytest.approx(
            r["contenders"]["nnlib"]["epoch_s"] / r["gemm_only_epoch_s"])
    lim = w["xor"]["limit"]
    assert 0 < lim["transcendentals_epoch_s"] and 0 < lim["stripped_epoch_s"]
    assert lim["stripped_max_param_diff"] < 1e-9     # the stripped kernel computes the same thing
    assert w["xor"]["nnlib_epoch_us"] == pytest.approx(1e6 * w["xor"]["contenders"]["nnlib"]["epoch_s"])
    assert "float32" in json.dumps(report["targets"])


def test_startup_fields(report):
    s = report["workloads"]["startup"]
    for key in ("import_s", "warm_first_s", "warm_predict_s", "import_cpu_s", "warm_first_cpu_s"):
        assert s[key] > 0, key
    for key in ("cold_first_s", "cold_predict_s", "cold_first_cpu_s"):  # not measured in smoke
        assert key in s and s[key] is None


def test_runs_without_torch(tmp_path):
    """With PyTorch absent (simulated by a shadowing module that fails to import), the suite skips
    that contender and says why."""
    (tmp_path / "torch.py").write_text("raise ImportError('torch hidden for this test')\n")
    out = tmp_path / "bench.json"
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "bench.run", "--smoke", "--only", "xor",
                           "--json", str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads(out.read_text())["workloads"]["xor"]
    assert "torch" not in run["contenders"] and "torch hidden" in run["skipped"]["torch"]
    assert "torch" in proc.stdout and "skipped" in proc.stdout
