"""Every heading of the chapters and exercise sheets carries a (sec-...)= label.

Cross-references go through labels, never heading text (a heading can be reworded or translated
without breaking a link), and the reader's progress on the website is keyed by them.
tools/label_headings.py adds missing ones.
"""
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import label_headings  # noqa: E402


def test_every_heading_has_a_label():
    missing = [f"{p.relative_to(ROOT)} cell {k}: {t}" for p in label_headings.notebooks()
               for k, t in label_headings.unlabelled(p)]
    assert not missing, ("headings without a (sec-...)= label (run python tools/label_headings.py):\n"
                         + "\n".join(missing))


def test_labels_are_unique_across_the_book():
    seen: dict[str, str] = {}
    clashes = []
    for p in label_headings.notebooks():
        for cell in nbformat.read(p, as_version=4).cells:
            if cell.cell_type != "markdown":
                continue
            for line in cell.source.splitlines():
                m = label_headings.LABEL.match(line)
                if m:
                    if m.group(1) in seen and seen[m.group(1)] != p.name:
                        clashes.append(f"{m.group(1)}: {seen[m.group(1)]} and {p.name}")
                    seen.setdefault(m.group(1), p.name)
    assert seen, "no labels found at all: the reader of labels is broken"
    assert not clashes, "\n".join(clashes)


def test_the_checker_finds_an_unlabelled_heading_and_the_tool_labels_it(tmp_path):
    src = tmp_path / "chapters"
    src.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("(sec-demo)=\n# Demo\n\n## Labelled? no\n\ntext"),
                nbformat.v4.new_markdown_cell("```python\n# not a heading\n```\n\n(sec-x)=\n## Yes"),
                nbformat.v4.new_markdown_cell("## Check yourself")]
    path = src / "99_demo.ipynb"
    nbformat.write(nb, path)
    assert label_headings.unlabelled(path) == [(0, "Labelled? no"), (2, "Check yourself")]
    added = label_headings.label(path, {"sec-demo", "sec-x", "sec-demo-check-yourself"})
    assert added == ["sec-demo-labelled-no", "sec-demo-check-yourself-2"]
    assert label_headings.unlabelled(path) == []
    cells = nbformat.read(path, as_version=4).cells
    assert "(sec-demo-labelled-no)=\n## Labelled? no" in cells[0].source
    assert "# not a heading" in cells[1].source and cells[1].source.count(")=") == 1
