"""tools/link_api.py: links the first mention of each nnlib object in markdown cells only, to the
names the API pages document, and running it twice changes nothing."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import link_api  # noqa: E402


@pytest.mark.parametrize("path,name", [
    ("nnlib.MLP", "nnlib.MLP"), ("nnlib.layers.Dense", "nnlib.Dense"),
    ("nnlib.optim.SGD", "nnlib.SGD"), ("nnlib.gradcheck", "nnlib.gradcheck"),
    ("nnlib.numgrad.numerical_gradient", "nnlib.numerical_gradient"),
    ("nnlib.activations.softmax", "nnlib.softmax"), ("nnlib.metrics.accuracy", "nnlib.accuracy"),
    ("nnlib.datasets.xor", "nnlib.datasets.xor"), ("nnlib.losses", "nnlib.losses"),
    ("nnlib.activations.sigmoid", "nnlib.activations.sigmoid"),
    ("nnlib.MLP.forward_trace", "nnlib.MLP.forward_trace"), ("net.fit", "nnlib.MLP.fit"),
    ("nnlib.MLP.fit", "nnlib.MLP.fit"), ("nnlib.fit", "nnlib.fit"),
    ("nnlib.activations.sigmoid.f", "nnlib.activations.Activation.f"),
    ("net.layers", "nnlib.MLP.layers"), ("net.params", "nnlib.MLP.params"),
    ("nnlib.kernels.forward", "nnlib.kernels.forward"),
    ("nnlib.gradcheck.numerical_gradient", None),        # not an object (the old module path)
    ("nnlib.MLP.nothing", None), ("net._sizes", None), ("np.dot", None), ("nnlib._view", None),
])
def test_resolve(path, name):
    assert link_api.resolve(path) == name


def _notebook(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("Build `nnlib.MLP([2, 1])`, then `net.fit` it; $`nnlib.fit`$ "
                                      "is maths. `nnlib.gradcheck.numerical_gradient` is stale."),
        nbformat.v4.new_code_cell("net = nnlib.MLP([2, 1])  # `nnlib.MLP` in a comment"),
        nbformat.v4.new_markdown_cell("Again `nnlib.MLP`, and `net.fit(X, y)`; first `nnlib.fit`.\n"
                                      "```python\n`nnlib.accuracy`\n```\n"),
    ]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="`nnlib.MLP`\n")]
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    return path


def test_links_first_mentions_in_markdown_only_and_is_idempotent(tmp_path):
    path = _notebook(tmp_path)
    before = nbformat.read(path, as_version=4)
    report = link_api.link_notebook(path)
    after = nbformat.read(path, as_version=4)
    assert after.cells[0].source == (
        "Build {py:obj}`nnlib.MLP([2, 1]) <nnlib.MLP>`, then {py:obj}`net.fit <nnlib.MLP.fit>` it; "
        "$`nnlib.fit`$ is maths. `nnlib.gradcheck.numerical_gradient` is stale.")
    assert after.cells[1] == before.cells[1]                   # code cell and its output untouched
    assert after.cells[2].source == ("Again `nnlib.MLP`, and `net.fit(X, y)`; first "
                                     "{py:obj}`nnlib.fit <nnlib.fit>`.\n```python\n`nnlib.accuracy`\n```\n")
    assert any("nnlib.gradcheck.numerical_gradient -> NOT LINKED" in line for line in report)
    text = path.read_bytes()
    assert [r for r in link_api.link_notebook(path) if "NOT LINKED" not in r] == []
    assert path.read_bytes() == text                           # a second run changes nothing
