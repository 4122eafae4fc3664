"""Give every heading of the chapters and exercise sheets a MyST label, ``(sec-...)=``.

    python tools/label_headings.py           add the missing labels (prints one line per label)
    python tools/label_headings.py --check   list unlabelled headings; exit 1 if there are any

Cross-references in the course go through labels, never heading text, so that a heading can be
reworded or translated (the Chinese edition) without breaking a link, and so that the reader's
progress (keyed by labels) survives a renamed page. A heading's label is the line directly above
it (blank lines between are allowed). A new label is the page's prefix plus a slug of the heading:
chapters use their first label (``sec-neuron`` → ``sec-neuron-check-yourself``); exercise sheet
``NN_name`` uses ``sec-exNN`` (title ``sec-ex09``, questions ``sec-ex09-q1``, ...). Labels stay unique
across the book: a clash gets ``-2``, ``-3``, ... Headings inside fenced blocks (code, directives)
are not headings. Only markdown cells are touched; the script is idempotent.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
LABEL = re.compile(r"^\(([A-Za-z0-9_.:-]+)\)=\s*$")
HEADING = re.compile(r"^(#{1,6}) +(.*\S)\s*$")
FENCE = re.compile(r"^\s*(```+|~~~+|:::+)")
STOP = {"a", "an", "the", "of", "and", "to", "in", "on", "for", "with", "its", "it", "is", "are"}


def notebooks(root: Path = ROOT) -> list[Path]:
    """Every notebook whose headings must carry labels: chapters and exercise-sheet sources."""
    sheets = sorted((root / "exercises" / "source").glob("*.ipynb"))
    return sorted((root / "chapters").glob("*.ipynb")) + sheets


def _headings(lines: list[str]) -> list[tuple[int, str, bool]]:
    """(line index, heading text, labelled?) for each heading outside fenced blocks."""
    found, fence, previous = [], None, None
    for i, line in enumerate(lines):
        m = FENCE.match(line)
        if m:
            mark = m.group(1)[0] * 3
            if fence is None:
                fence = mark
            elif mark == fence and line.strip().strip(mark[0]) == "":
                fence = None
            previous = line
            continue
        if fence is None:
            h = HEADING.match(line)
            if h:
                found.append((i, h.group(2), bool(previous is not None and LABEL.match(previous))))
        if line.strip():
            previous = line
    return found


def _slug(text: str) -> str:
    q = re.match(r"Question (\d+)\b", text)
    if q:                                            # exercise questions: q1, q2, ... (their ids)
        return f"q{q.group(1)}"
    text = re.sub(r"\(\d+ points?\)", " ", text)
    text = re.sub(r"\$[^$]*\$", " ", text)          # maths
    text = re.sub(r"\{[a-z:]+\}`([^`<]*)[^`]*`", r"\1", text)  # roles: keep their text
    words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP]
    return "-".join(words[:4]) or "section"


def _prefix(path: Path, nb: nbformat.NotebookNode) -> str:
    if path.parent.name == "source":
        return "sec-ex" + path.stem.split("_", 1)[0]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                m = LABEL.match(line)
                if m:
                    return m.group(1)
    raise ValueError(f"{path}: no label to derive new labels from; label the title first")


def existing_labels(paths: list[Path]) -> set[str]:
    labels: set[str] = set()
    for p in paths:
        for cell in nbformat.read(p, as_version=4).cells:
            if cell.cell_type == "markdown":
                labels.update(m.group(1) for m in map(LABEL.match, cell.source.splitlines()) if m)
    return labels


def unlabelled(path: Path) -> list[tuple[int, str]]:
    """(cell index, heading text) of every heading in ``path`` without a label above it."""
    nb = nbformat.read(path, as_version=4)
    return [(k, text) for k, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
            for _, text, ok in _headings(cell.source.splitlines()) if not ok]


def label(path: Path, taken: set[str]) -> list[str]:
    """Add the missing labels to ``path`` (in place); returns the labels added."""
    nb = nbformat.read(path, as_version=4)
    prefix, added = _prefix(path, nb), []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        todo = [(i, text) for i, text, ok in _headings(lines) if not ok]
        names = []
        for i, text in todo:
            is_title = HEADING.match(lines[i]).group(1) == "#" and prefix.startswith("sec-ex")
            base = prefix if is_title else f"{prefix}-{_slug(text)}"
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base}-{n}"
            taken.add(name)
            names.append(name)
        for (i, _), name in reversed(list(zip(todo, names))):
            lines[i:i] = [f"({name})="]
        added += names
        if todo:
            cell.source = "\n".join(lines)
    if added:
        nbformat.write(nb, path)
    return added


def main(argv: list[str]) -> int:
    paths = notebooks()
    if "--check" in argv:
        missing = [(p, k, t) for p in paths for k, t in unlabelled(p)]
        for p, k, t in missing:
            print(f"{p.relative_to(ROOT)}: cell {k}: heading without a (sec-...)= label: {t}")
        if missing:
            print("run: python tools/label_headings.py", file=sys.stderr)
        return 1 if missing else 0
    taken = existing_labels(paths)
    for p in paths:
        for name in label(p, taken):
            print(f"{p.relative_to(ROOT)}: ({name})=")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
