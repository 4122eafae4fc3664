"""Feedback that names the right mistake, and grades that do not depend on the seed (issue 11):
the submissions in tests/submissions/05_backprop/ (made by make_05_backprop.py) graded with two
secret seeds; the public data checked under another floating-point summation order."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from grader_helpers import FAST, ROOT, SHEETS, sheet

from nngrade import codec, generate, grade

SUBMISSIONS = ROOT / "tests" / "submissions" / "05_backprop"
# sheet 5: q1 output_delta 3 points, q2 dense_backward 4, q3 backward_two_layer 5 (total 12)
# name -> ({question: score}, {question: text its feedback section must contain})
EXPECT_05 = {
    "honest": ({"q1": 3, "q2": 4, "q3": 5}, {}),
    "tuple_instead_of_list": ({"q1": 3, "q2": 4, "q3": 5}, {}),
    "forgot_mean_k_outputs": ({"q1": 0, "q2": 4, "q3": 0},
                              {"q1": "off by a factor N·K = 4·2 = 8, the number of entries of `A`"}),
    "n_instead_of_nk": ({"q1": 1, "q2": 4, "q3": 1},
                        {"q1": "K = 2 times too large: it was divided by the batch size N = 4",
                         "q3": "calls output_delta() from q1, which did not pass all its tests"}),
    "n_instead_of_nk_inline": ({"q1": 3, "q2": 4, "q3": 1},
                               {"q3": "item 0: it is K = 2 times too large"}),
    "float32": ({"q1": 0, "q2": 4, "q3": 0},
                {"q1": "has dtype float32: its values agree with the expected ones only to "
                       "float32 precision",
                 "q3": "calls output_delta() from q1"}),
    "mistake_in_q1_only": ({"q1": 0, "q2": 4, "q3": 0},
                           {"q1": "sign flipped",
                            "q3": "fix q1 first; q3 may pass once it does"}),
    "extra_items": ({"q1": 3, "q2": 0, "q3": 0},
                    {"q2": "expected a list of 3 arrays, got 5",
                     "q3": "calls dense_backward() from q2"}),
}


def section(feedback: str, q: str) -> str:
    return feedback.split(f"## {q}:", 1)[1].split("\n## ", 1)[0]


@pytest.fixture(scope="module")
def graded_twice(tmp_path_factory):
    out = tmp_path_factory.mktemp("feedback")
    books = {}
    for seed in (1, 2):
        grade.grade_folder(sheet("05_backprop"), SUBMISSIONS, out / f"g{seed}.csv", jobs=2,
                           seed=seed, limits=FAST)
        books[seed] = (out / f"g{seed}.csv").read_text()
    return out, books


def test_every_submission_is_expected():
    assert {p.stem for p in SUBMISSIONS.glob("*.ipynb")} == set(EXPECT_05)


@pytest.mark.parametrize("name", sorted(EXPECT_05))
def test_feedback_names_the_mistake(graded_twice, name):
    out, books = graded_twice
    rows = {r["student"]: r for r in csv.DictReader(books[1].splitlines())}
    scores, texts = EXPECT_05[name]
    assert {q: float(rows[name][q]) for q in scores} == scores
    feedback = (out / "g1-feedback" / f"{name}.md").read_text()
    for q, text in texts.items():
        assert text in section(feedback, q), section(feedback, q)


def test_the_grade_does_not_depend_on_the_seed(graded_twice):
    """N instead of N·K, a forgotten mean, float32...: the same rows with two secret seeds."""
    _, books = graded_twice
    assert books[1] == books[2]


@pytest.mark.parametrize("name", SHEETS)
def test_wrong_answers_fail_the_same_hidden_tests_whatever_the_seed(name):
    from grader_helpers import verified
    assert not [line for line in verified(name).lines if "depend on the seed" in line]


def _dispatched_cpu_features() -> list[str]:
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    return [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]


def test_public_data_are_up_to_date_under_another_summation_order(tmp_path):
    """Regenerate every sheet's public data with NumPy's SIMD kernels above the baseline
    disabled (as on an older processor: exp, tanh and sums then differ in the last bits): the
    perturbation must be real, and the up-to-date check must still pass."""
    features = _dispatched_cpu_features()
    if not features:
        pytest.skip("this processor runs NumPy's baseline kernels only: nothing to disable")
    script = """
import json
from nngrade import generate, sheet
out = {}
for p in sheet.all_sources():
    s = sheet.load_sheet(p)
    out[p.stem] = {"text": generate.public_json_text(s), "problems": generate.out_of_date(s)}
print(json.dumps(out))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NPY_DISABLE_CPU_FEATURES": " ".join(features)}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=600, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    other = json.loads(run.stdout)
    assert set(other) == set(SHEETS)
    here = {name: generate.public_json_text(sheet(name)) for name in SHEETS}
    changed = [n for n in SHEETS if other[n]["text"] != here[n]]
    assert changed, "disabling the SIMD kernels changed no digit: the perturbation is not real"
    for name in SHEETS:
        assert other[name]["problems"] == [], other[name]["problems"]
        assert codec.same_json(json.loads(other[name]["text"]), json.loads(here[name]),
                               rtol=generate.PUBLIC_RTOL, atol=generate.PUBLIC_ATOL) is None


def _heading_ids(path: Path) -> dict[str, str]:
    """heading id (as JupyterLab makes it: text, spaces -> '-') -> the label line above it."""
    import nbformat
    nb = nbformat.read(str(path), as_version=4)
    lines = [x for c in nb.cells if c.cell_type == "markdown" for x in c.source.splitlines()
             if x.strip()]
    out = {}
    for prev, line in zip([""] + lines, lines):
        if line.startswith("#"):
            text = line.lstrip("#").strip().replace("`", "")
            out[text.replace(" ", "-")] = prev.strip()
    return out


@pytest.mark.parametrize("name", SHEETS)
def test_reread_links_lead_to_the_section(name):
    """Follow each question's links from exercises/: the chapter notebook exists, has a heading
    with the anchor's id right under the question's label; the web page is the same chapter,
    and, when the site is built, has an element with the label's id."""
    data = json.loads((ROOT / "nngrade" / "public" / f"{name}.json").read_text())
    site = ROOT / "_build" / "html"
    for qid, q in data["questions"].items():
        path, anchor = q["link"]["notebook"].split("#")
        target = (ROOT / "exercises" / path).resolve()
        assert target.is_file(), (qid, target)
        ids = _heading_ids(target)
        assert ids.get(anchor) == f"({q['section']})=", (qid, anchor)
        page, label = q["link"]["page"].split("#")
        assert label == q["section"] and Path(page).stem == target.stem
        if (site / "index.html").exists():
            html = (site / "exercises" / page).resolve().read_text()
            assert f'id="{label}"' in html, (qid, page, label)
