"""The grader at scale: the same gradebook from a local process pool, a real Dask cluster (a
``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1) and three shards merged; the
append-only log, ``--resume`` after a killed run, ``--student``/``--question`` regrades, late
penalties, ``nngrade merge`` refusing parts it must not join, progress lines, and the README's
Slurm script and Kubernetes manifest."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pytest
import yaml
from grader_helpers import ROOT

from nngrade import executors, late, sandbox, shards
from nngrade.progress import Progress

sys.path.insert(0, str(ROOT))
from bench.grading import _env, dask_cluster  # noqa: E402

SUBMISSIONS = ROOT / "tests" / "submissions" / "01_neuron"
# correct, wrong, crashing (exception, sys.exit, invalid file) and cheating submissions
BATCH = ["honest", "percent_continuation_and_help", "hardcoded_public", "missing_cell",
         "exception", "sys_exit", "invalid", "monkeypatch_numpy", "import_nnlib"]
OPTS = ["--sheet", "01_neuron", "--seed", "7", "--timeout", "8", "--call-timeout", "2", "-q"]
if sandbox.detect_mode() != "namespaces":     # accept the weaker sandbox explicitly
    OPTS += ["--isolation", sandbox.detect_mode()]


def nngrade(*args: str, check: int | None = 0) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "nngrade.cli", *map(str, args)], env=_env(),
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    if check is not None:
        assert run.returncode == check, run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    return run


def rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


def graded_count(run: subprocess.CompletedProcess) -> int:
    return int(re.search(r"graded (\d+) submission", run.stdout).group(1))


def feedback_files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scale") / "subs"
    folder.mkdir()
    for name in BATCH:
        shutil.copy(SUBMISSIONS / f"{name}.ipynb", folder)
    return folder


@pytest.fixture(scope="module")
def local(batch) -> Path:
    out = batch.parent / "local" / "grades.csv"
    run = nngrade("grade", batch, "-o", out, "-j", "2", *OPTS)
    assert graded_count(run) == len(BATCH)
    return out


@pytest.fixture(scope="module")
def parts(batch) -> list[Path]:
    out = []
    for i in range(3):
        part = batch.parent / "parts" / f"part{i}.csv"
        nngrade("grade", batch, "-o", part, "--shard", f"{i}/3", "-j", "2", *OPTS)
        out.append(part)
    return out


def test_local_pool_grades_the_batch(local):
    book = rows(local)
    assert set(book) == set(BATCH)
    assert book["honest"]["total"] == "10" and book["percent_continuation_and_help"]["total"] == "10"
    for name in ("hardcoded_public", "missing_cell", "exception", "sys_exit", "invalid",
                 "monkeypatch_numpy", "import_nnlib"):
        assert float(book[name]["total"]) < 10, name
    assert book["invalid"]["total"] == "0"
    records, bad = shards.read_log(shards.log_path(local))
    assert bad == 0 and sorted(r["student"] for r in records) == sorted(BATCH)
    keys = {"student", "file", "sheet", "sheet_hash", "seed", "questions", "total", "max_total",
            "submitted_at", "late_days", "penalty", "final", "graded_at"}
    for r in records:
        assert keys <= set(r)
        assert r["sheet"] == "01_neuron" and r["seed"] == 7 and r["max_total"] == 10
        assert r["sheet_hash"] == executors.sheet_hash(ROOT / "exercises/source/01_neuron.ipynb")
        assert [q["question"] for q in r["questions"]] == ["q1", "q2", "q3", "q4"]
        assert {"question", "score", "max", "kinds", "feedback"} <= set(r["questions"][0])
        assert r["final"] == r["total"] == sum(q["score"] for q in r["questions"])
        assert f"{r['total']:g}" == book[r["student"]]["total"]
    exc = next(r for r in records if r["student"] == "exception")
    assert "exception" in exc["questions"][0]["kinds"]


def test_dask_cluster_and_shards_give_the_local_gradebook(batch, local, parts):
    out = batch.parent / "dask" / "grades.csv"
    with dask_cluster(workers=2, threads=1) as address:
        run = nngrade("grade", batch, "-o", out, "--scheduler", address, *OPTS)
        assert "Dask cluster at tcp://127.0.0.1" in run.stdout and "2 workers" in run.stdout
    assert out.read_text() == local.read_text()
    assert feedback_files(out.parent / "grades-feedback") == \
        feedback_files(local.parent / "grades-feedback")

    shares = [set(rows(p)) for p in parts]
    assert all(shares) and set.union(*shares) == set(BATCH) and sum(map(len, shares)) == len(BATCH)
    assert shares[0] == set(sorted(BATCH)[0::3])          # sorted by id, every third from 0
    merged = batch.parent / "merged" / "grades.csv"
    run = nngrade("merge", *parts, "-o", merged)
    assert "0 duplicate(s) dropped" in run.stdout
    assert merged.read_text() == local.read_text()
    assert feedback_files(merged.parent / "grades-feedback") == \
        feedback_files(local.parent / "grades-feedback")
    assert len(shards.read_log(shards.log_path(merged))[0]) == len(BATCH)


def test_scheduler_from_the_environment_and_a_clear_error_without_a_cluster(batch, tmp_path):
    env_run = subprocess.run([sys.executable, "-m", "nngrade.cli", "grade", batch, "-o",
                              tmp_path / "g.csv", *OPTS], cwd=ROOT, capture_output=True,
                             text=True, timeout=120,
                             env={**_env(), "DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:9"})
    assert env_run.returncode == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in env_run.stderr


def test_missing_dask_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)   # import distributed -> ImportError
    with pytest.raises(executors.ClusterUnavailable, match=r"pip install '\.\[cluster\]'"):
        with executors.executor(scheduler="tcp://127.0.0.1:8786"):
            pass


def test_resume_after_a_killed_run_regrades_only_the_missing(batch, local):
    out = batch.parent / "killed" / "grades.csv"
    log = shards.log_path(out)
    proc = subprocess.Popen([sys.executable, "-m", "nngrade.cli", "grade", str(batch), "-o",
                             str(out), "-j", "1", *OPTS], env=_env(), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while (not log.exists() or log.read_bytes().count(b"\n") < 3) and proc.poll() is None:
            assert time.monotonic() < deadline, "no results within 300 s"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    kept = log.read_bytes()
    done = kept.count(b"\n")
    assert 3 <= done < len(BATCH), "the run was not interrupted mid-way"
    with open(log, "ab") as fh:                 # a record cut short by the crash
        fh.write(b'{"student": "honest", "questions": [{"ques')
    run = nngrade("grade", batch, "-o", out, "-j", "2", "--resume", *OPTS)
    assert graded_count(run) == len(BATCH) - done
    assert out.read_text() == local.read_text()
    assert log.read_bytes().startswith(kept)   # the finished students were not regraded
    records, bad = shards.read_log(log)
    assert bad == 1 and len(records) == len(BATCH)
    again = nngrade("grade", batch, "-o", out, "--resume", *OPTS)
    assert graded_count(again) == 0 and out.read_text() == local.read_text()


def test_student_and_question_filters_change_only_that_row_and_question(batch, local, tmp_path):
    folder = tmp_path / "subs"
    shutil.copytree(batch, folder)
    out = tmp_path / "out" / "grades.csv"
    shutil.copytree(local.parent, out.parent)
    nb = nbformat.read(folder / "honest.ipynb", as_version=4)
    for cell in nb.cells:           # honest's sigmoid (q2) now raises
        if cell.metadata.get("nngrade", {}).get("question") == "q2":
            cell.source = "def sigmoid(z):\n    raise ValueError('changed after the deadline')\n"
    nbformat.write(nb, folder / "honest.ipynb")
    before = rows(out)
    run = nngrade("grade", folder, "-o", out, "--student", "honest", "--question", "q2", *OPTS)
    assert graded_count(run) == 1
    after = rows(out)
    assert {s: r for s, r in after.items() if s != "honest"} == \
        {s: r for s, r in before.items() if s != "honest"}
    assert after["honest"] == {**before["honest"], "q2": "0", "total": "7"}
    records, _ = shards.read_log(shards.log_path(out))
    assert len(records) == len(BATCH) + 1 and records[-1]["student"] == "honest"
    assert "changed after the deadline" in (out.parent / "grades-feedback" / "honest.md").read_text()
    bad_q = nngrade("grade", folder, "-o", out, "--question", "q9", *OPTS, check=2)
    assert "q9" in bad_q.stderr and "q1, q2, q3, q4" in bad_q.stderr
    bad_s = nngrade("grade", folder, "-o", out, "--student", "nobody", *OPTS, check=2)
    assert "nobody" in bad_s.stderr
    assert rows(out) == after


def test_late_penalties_come_from_the_instructors_times_only(tmp_path):
    folder = tmp_path / "subs"
    folder.mkdir()
    for name, source in [("on_time", "honest"), ("in_grace", "honest"), ("a_day", "honest"),
                         ("very_late", "exception"), ("no_time", "honest")]:
        shutil.copy(SUBMISSIONS / f"{source}.ipynb", folder / f"{name}.ipynb")
    os.utime(folder / "on_time.ipynb", (4102444800, 4102444800))   # mtime in 2100: ignored
    deadline = datetime(2026, 11, 20, 23, 59, tzinfo=UTC)
    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at\n"
                     f"on_time,{(deadline - timedelta(hours=3)).isoformat()}\n"
                     f"in_grace,{(deadline + timedelta(minutes=10)).isoformat()}\n"
                     f"a_day.ipynb,{(deadline + timedelta(hours=30)).isoformat()}\n"
                     f"very_late,{(deadline + timedelta(days=9)).isoformat()}\n")
    out = tmp_path / "out" / "grades.csv"
    late_opts = ["--late-policy", "per_day=10,cap=50,grace=15m", "--deadline",
                 deadline.isoformat(), "--submitted-at", times]
    nngrade("grade", folder, "-o", out, "-j", "2", *OPTS, *late_opts)
    book = rows(out)
    header = next(csv.reader(io.StringIO(out.read_text())))
    assert header == ["student", "file", "q1", "q2", "q3", "q4", "total", "submitted_at",
                      "late_days", "penalty", "final", "late_policy", "note"]
    got = {s: (r["late_days"], r["penalty"], r["final"]) for s, r in book.items()}
    assert got == {"on_time": ("0", "0", "10"), "in_grace": ("0", "0", "10"),
                   "a_day": ("2", "2", "8"), "very_late": ("9", "3.5", "3.5"),
                   "no_time": ("0", "0", "10")}
    assert book["very_late"]["total"] == "7" and book["no_time"]["submitted_at"] == ""
    assert book["a_day"]["late_policy"].startswith("per_day=10%,cap=50%,grace=15m,deadline=")
    rec = {r["student"]: r for r in shards.read_log(shards.log_path(out))[0]}
    assert rec["very_late"]["penalty"] == 3.5 and rec["very_late"]["final"] == 3.5
    assert rec["no_time"]["submitted_at"] is None

    naive = tmp_path / "naive.csv"
    naive.write_text("student,submitted_at\non_time,2026-11-20T10:00:00\n")
    run = nngrade("grade", folder, "-o", tmp_path / "x.csv", *OPTS, *late_opts[:4],
                  "--submitted-at", naive, check=2)
    assert "has no time zone" in run.stderr and "naive.csv, line 2" in run.stderr
    run = nngrade("grade", folder, "-o", tmp_path / "x.csv", *OPTS, *late_opts[:2], check=2)
    assert "--deadline" in run.stderr and not (tmp_path / "x.csv").exists()


def test_late_policy_arithmetic_and_errors():
    p = late.LatePolicy.parse("per_day=10,cap=50,grace=15m", "2026-11-20T23:59:00Z")
    d = p.deadline
    assert p.apply(10, d + timedelta(minutes=15)) == (0, 0.0, 10)
    assert p.apply(10, d + timedelta(minutes=16)) == (1, 1.0, 9.0)
    assert p.apply(10, d + timedelta(days=1)) == (1, 1.0, 9.0)
    assert p.apply(10, d + timedelta(days=1, seconds=1)) == (2, 2.0, 8.0)
    assert p.apply(8, d + timedelta(days=30)) == (30, 4.0, 4.0)
    assert p.apply(10, None) == (0, 0.0, 10)
    for bad, what in [("per_day=ten", "numbers"), ("cap=150", "between 0 and 100"),
                      ("grace=15 minutes", "duration"), ("late=3", "not understood")]:
        with pytest.raises(late.LateError, match=what):
            late.LatePolicy.parse(bad, "2026-11-20T23:59:00Z")
    with pytest.raises(late.LateError, match="no time zone"):
        late.LatePolicy.parse("per_day=10", "2026-11-20T23:59:00")


def _copy_part(part: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for suffix in ("", shards.LOG_SUFFIX, shards.MANIFEST_SUFFIX):
        shutil.copy(str(part) + suffix, str(dest / part.name) + suffix)
    return dest / part.name


def test_merge_drops_duplicates_and_refuses_other_versions(parts, local, tmp_path):
    retried = _copy_part(parts[0], tmp_path / "retried")   # a task that ran twice
    out = tmp_path / "m" / "grades.csv"
    run = nngrade("merge", *parts, retried, "-o", out)
    assert f"{len(rows(parts[0]))} duplicate(s) dropped" in run.stdout
    assert out.read_text() == local.read_text()

    run = nngrade("merge", parts[0], parts[2], "-o", tmp_path / "m2.csv", check=1)
    missing = sorted(rows(parts[1]))
    assert "no part for shard(s) 1/3" in run.stderr and ", ".join(missing) in run.stderr

    other = _copy_part(parts[1], tmp_path / "other")
    manifest = shards.manifest_path(other)
    m = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**m, "sheet_hash": "sha256:" + "0" * 64}))
    run = nngrade("merge", parts[0], other, parts[2], "-o", tmp_path / "m3.csv", check=2)
    assert "sheet_hash" in run.stderr and str(other) in run.stderr
    assert not (tmp_path / "m3.csv").exists()

    manifest.write_text(json.dumps(m))                      # the manifest agrees, a record not
    log = shards.log_path(other)
    recs = [json.loads(line) for line in log.read_text().splitlines()]
    recs[0]["sheet_hash"] = "sha256:" + "1" * 64
    log.write_text("".join(json.dumps(r) + "\n" for r in recs))
    run = nngrade("merge", parts[0], other, parts[2], "-o", tmp_path / "m4.csv", check=2)
    assert "sheet version" in run.stderr and recs[0]["student"] in run.stderr

    seeded = _copy_part(parts[2], tmp_path / "seeded")
    m2 = json.loads(shards.manifest_path(seeded).read_text())
    shards.manifest_path(seeded).write_text(json.dumps({**m2, "seed": 8}))
    run = nngrade("merge", parts[0], parts[1], seeded, "-o", tmp_path / "m5.csv", check=2)
    assert "different fixed seeds" in run.stderr
    shards.manifest_path(seeded).write_text(json.dumps({**m2, "seed_policy": "secret"}))
    run = nngrade("merge", parts[0], parts[1], seeded, "-o", tmp_path / "m6.csv", check=2)
    assert "seed_policy" in run.stderr


def test_shard_selection_partitions_the_students():
    ids = [f"s{k:03d}" for k in range(17)][::-1]
    shares = [shards.select(ids, str, (i, 4)) for i in range(4)]
    assert sorted(sum(shares, [])) == sorted(ids)
    assert shares[1] == ["s001", "s005", "s009", "s013"]
    for bad in ("4/4", "-1/4", "1", "a/b", "0/0"):
        with pytest.raises(ValueError, match="--shard"):
            shards.parse_shard(bad)


def test_progress_lines():
    plain = io.StringIO()
    bar = Progress(20, stream=plain, tty=False)
    for k in range(20):
        bar.update(f"s{k}", float(k))
    lines = plain.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("graded 20/20, ")
    assert "slowest: s19 19.0s, s18 18.0s, s17 17.0s" in lines[-1]
    assert "left" in lines[0] and "\r" not in plain.getvalue()
    term = io.StringIO()
    bar = Progress(3, stream=term, tty=True)
    for k in range(3):
        bar.update(f"s{k}", 1.0)
    bar.finish()
    text = term.getvalue()
    assert text.count("\r\033[K") == 3 and text.endswith("\n")
    assert text.rsplit("\r\033[K", 1)[1].startswith("graded 3/3, ")


def _readme_block(lang: str, marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)
    found = [b for b in blocks if marker in b]
    assert found, f"no ```{lang} block with {marker!r} in README.md"
    return found[0]


def test_readme_kubernetes_manifest_is_valid_and_locked_down():
    docs = [d for d in yaml.safe_load_all(_readme_block("yaml", "completionMode")) if d]
    kinds = {d["kind"]: d for d in docs}
    job, policy = kinds["Job"], kinds["NetworkPolicy"]
    assert job["apiVersion"] == "batch/v1" and job["spec"]["completionMode"] == "Indexed"
    n = job["spec"]["completions"]
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False and pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (c,) = pod["containers"]
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    cmd = " ".join(c["command"] + c.get("args", []))
    assert f"--shard $(JOB_COMPLETION_INDEX)/{n}" in cmd and "--isolation userns" in cmd
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["spec"]["policyTypes"] == ["Egress"] and policy["spec"]["egress"] == []


def test_readme_slurm_script_is_a_job_array():
    script = _readme_block("bash", "#SBATCH --array")
    assert re.search(r"#SBATCH --array=0-(\d+)", script)
    n = int(re.search(r"#SBATCH --array=0-(\d+)", script).group(1)) + 1
    assert f'--shard "${{SLURM_ARRAY_TASK_ID}}/{n}"' in script
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)


def test_a_worker_with_another_sheet_version_stops_the_run():
    from concurrent.futures import ThreadPoolExecutor
    job = executors.Job(str(ROOT / "exercises/source/01_neuron.ipynb"), "sha256:" + "0" * 64, 1,
                        sandbox.Limits(), sandbox.detect_mode(), ())
    tasks = [executors.Task(job, f"s{k}", f"s{k}.ipynb", b"{}") for k in range(20)]
    graded: list[str] = []
    with ThreadPoolExecutor(2) as ex:
        failures = executors.run(ex, 1, tasks, lambda t, r: graded.append(t.student))
    assert graded == [] and 1 <= len(failures) <= 4   # nothing new is sent after the first
    assert all(isinstance(e, executors.SheetMismatch) for _, e in failures)
    assert "give every worker the same course checkout" in str(failures[0][1])
