"""Write the one-line install hint at the end of the first Markdown cell of every chapter.

A chapter downloaded from the website runs outside this repository only if nnlib is installed.
The line tells the reader how, right above the chapter's first ``import nnlib``:

    python tools/install_hint.py            # add or update the line in chapters/*.ipynb
    python tools/install_hint.py --check    # exit 1, naming each chapter without the current line

Idempotent: a chapter whose first Markdown cell already ends with the current line is not
rewritten. Only that line changes (an older version of it, recognised by its opening words, is
replaced); every other cell, output and metadata field is left as it is. The wheel's file name
comes from pyproject.toml (name and version), and the link is relative to ``chapters/``, where it
points at the copy ``make book`` puts in the site (``downloads/``; see tools/nnsite.py).
"""
from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
LEAD = "*Running a downloaded copy of this notebook?*"


def wheel_name(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The file name of the wheel `make book` builds: ``{name}-{version}-py3-none-any.whl`` (PEP 427)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    name = re.sub(r"[-_.]+", "_", project["name"]).lower()
    return f"{name}-{project['version']}-py3-none-any.whl"


def hint_line(wheel: str | None = None) -> str:
    """The line itself (one Markdown paragraph)."""
    wheel = wheel or wheel_name()
    return (f"{LEAD} If `import nnlib` fails, download the [course's library](../downloads/{wheel}) "
            f"(also in the download menu of every page of the course's website) and run "
            f"`pip install \"{wheel}[notebooks]\"` in the environment of your Jupyter kernel.")


def with_hint(source: str, line: str) -> str:
    """`source` (a Markdown cell) with any older hint removed and `line` as its last paragraph."""
    kept = [row for row in source.split("\n") if not row.startswith(LEAD)]
    body = "\n".join(kept).rstrip()
    return f"{body}\n\n{line}" if body else line


def first_markdown(nb) -> int:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            return index
    raise ValueError("the notebook has no Markdown cell: expected the chapter's title cell first")


def has_hint(path: Path, line: str | None = None) -> bool:
    nb = nbformat.read(path, as_version=4)
    source = nb.cells[first_markdown(nb)].source
    return source.rstrip().endswith(line or hint_line())


def apply(path: Path, line: str | None = None) -> bool:
    """Add or update the hint in one notebook; True if the file was rewritten."""
    line = line or hint_line()
    nb = nbformat.read(path, as_version=4)
    cell = nb.cells[first_markdown(nb)]
    new = with_hint(cell.source, line)
    if new == cell.source:
        return False
    cell.source = new
    nbformat.write(nb, path)
    return True


def chapters(folder: Path = CHAPTERS) -> list[Path]:
    """Every notebook page of chapters/ (the numbered chapters and the playground)."""
    return sorted(folder.glob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report chapters without the current line")
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: chapters/*.ipynb)")
    args = parser.parse_args(argv)
    paths = args.paths or chapters()
    if not paths:
        print(f"no chapters found in {CHAPTERS}", file=sys.stderr)
        return 1
    line = hint_line()
    if args.check:
        missing = [p for p in paths if not has_hint(p, line)]
        for p in missing:
            print(f"{p}: the first Markdown cell does not end with the install line "
                  f"(run: python tools/install_hint.py)", file=sys.stderr)
        return 1 if missing else 0
    changed = [p for p in paths if apply(p, line)]
    print(f"install hint: {len(changed)} of {len(paths)} notebooks updated"
          + (": " + ", ".join(p.name for p in changed) if changed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
