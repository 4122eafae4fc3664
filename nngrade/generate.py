"""Generate what students get from a source notebook: the student notebook (stubs instead of
solutions, no tests) and the public data of ``check`` (``nngrade/public/NN_name.json``).

The public data hold the reference's outputs on the public inputs. Computed floats may differ
in their last digits on another processor (BLAS kernels, SIMD paths), so :func:`out_of_date`
compares them with a tolerance (:data:`PUBLIC_RTOL`, :data:`PUBLIC_ATOL`), never byte for byte.
"""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import nbformat

from . import codec
from .sheet import PUBLIC_DIR, ROOT, STUDENT_DIR, AuthoringError, Sheet, reference, role_of

CHAPTER_DIR = ROOT / "chapters"
#: tolerance of the up-to-date check of the public data: far below any test's rtol (1e-7),
#: far above the last-digit differences between machines (about 1e-15 relative)
PUBLIC_RTOL, PUBLIC_ATOL = 1e-9, 1e-12


def jupyter_anchor(title: str) -> str:
    """The id JupyterLab and Jupyter Notebook give a Markdown heading: its visible text with
    spaces replaced by hyphens (so ``chapter.ipynb#That-id`` opens the notebook there)."""
    text = re.sub(r"`([^`]*)`", r"\1", title)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*{1,3}|_{1,3})(\S(?:.*?\S)?)\1", r"\2", text)
    return text.strip().replace(" ", "-")


def section_link(chapter: str, label: str, chapter_dir: Path | None = None) -> dict[str, str]:
    """A copy of :func:`_section_link` (read once per chapter and label)."""
    return dict(_section_link(chapter, label, chapter_dir))


@functools.lru_cache(maxsize=256)
def _section_link(chapter: str, label: str, chapter_dir: Path | None = None) -> dict[str, str]:
    """Where ``check`` sends a student to re-read: the heading under the ``(label)=`` line of
    ``chapters/<chapter>.ipynb``, as a link from ``exercises/`` into the chapter's notebook
    (``notebook``), into the built website (``page``), and the heading's text (``title``)."""
    path = (chapter_dir or CHAPTER_DIR) / f"{chapter}.ipynb"
    if not path.is_file():
        raise AuthoringError(f"chapter {chapter!r}: {path} does not exist")
    nb = nbformat.read(str(path), as_version=4)
    lines = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()]
    for i, line in enumerate(lines):
        if line.strip() == f"({label})=":
            rest = [x for x in lines[i + 1:] if x.strip()]
            heading = re.match(r"#{1,6}\s+(.+)", rest[0].strip()) if rest else None
            if heading is None:
                raise AuthoringError(f"{path.name}: the label ({label})= is not followed by a heading")
            title = heading.group(1).strip()
            return {"title": title, "notebook": f"../chapters/{chapter}.ipynb#{jupyter_anchor(title)}",
                    "page": f"../chapters/{chapter}.html#{label}"}
    raise AuthoringError(f"section {label!r} not found in {path.name}: the tests cell's `section` "
                         f"must be a `(sec-...)=` label of chapter {chapter}")

def chapter_title(chapter: str, chapter_dir: Path | None = None) -> str:
    """The title of ``chapters/<chapter>.ipynb``: its first level-1 heading."""
    path = (chapter_dir or CHAPTER_DIR) / f"{chapter}.ipynb"
    if not path.is_file():
        raise AuthoringError(f"chapter {chapter!r}: {path} does not exist")
    for cell in nbformat.read(str(path), as_version=4).cells:
        if cell.cell_type == "markdown":
            found = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if found:
                return found.group(1).strip()
    raise AuthoringError(f"{path.name}: no title (a level-1 `# ` heading)")


CHECKER_CODE = 'from nngrade import checker\n\ncheck = checker("{sheet}")'


def public_data(sheet: Sheet) -> dict[str, Any]:
    """What the student's ``check`` needs: public arguments and expected results, no code."""
    ref = reference(sheet)
    questions = {}
    for q in sheet.questions.values():
        pub = []
        for t in q.tests:
            if t.public:
                result = ref[q.function](**codec.fresh(t.args))
                pub.append({"name": t.name, "args": codec.to_json(t.args),
                            "expected": codec.to_json(result)})
        questions[q.id] = {"function": q.function, "chapter": q.chapter, "section": q.section,
                           "link": section_link(q.chapter, q.section), "points": q.points,
                           "rtol": q.rtol, "atol": q.atol,
                           "hidden_tests": sum(1 for t in q.tests if not t.public),
                           "public": pub}
    return {"sheet": sheet.name, "questions": questions}


def student_notebook(sheet: Sheet) -> Any:
    """The student notebook (without outputs): stubs instead of solutions, no tests."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python",
                                  "name": "python3"},
                   "language_info": {"name": "python"},
                   "nngrade": {"sheet": sheet.name}}
    cells = []
    setup_idx = [i for i, c in enumerate(sheet.nb.cells) if role_of(c).get("role") == "setup"]
    last_setup = setup_idx[-1] if setup_idx else -1

    def add(cell: Any, tag: str) -> None:
        cell.id = f"{tag}-{len(cells):02d}"
        cells.append(cell)

    if last_setup == -1:
        add(nbformat.v4.new_code_cell(CHECKER_CODE.format(sheet=sheet.name),
                                      metadata={"nngrade": {"role": "checker"}}), "checker")
    for i, cell in enumerate(sheet.nb.cells):
        meta = role_of(cell)
        role = meta.get("role")
        keep = {k: v for k, v in cell.metadata.items() if k in ("tags",)}
        if role in ("tests", "wrong", "instructor"):
            continue
        if role == "answer":
            q = sheet.questions[meta["question"]]
            add(nbformat.v4.new_code_cell(q.stub, metadata={
                **keep, "nngrade": {"role": "answer", "question": q.id}}), f"answer-{q.id}")
            add(nbformat.v4.new_code_cell(f'check("{q.id}")', metadata={
                "nngrade": {"role": "check", "question": q.id}}), f"check-{q.id}")
            continue
        if cell.cell_type == "markdown":
            add(nbformat.v4.new_markdown_cell(cell.source, metadata=keep), "md")
        elif cell.cell_type == "raw":
            add(nbformat.v4.new_raw_cell(cell.source, metadata=keep), "raw")
        else:
            extra = {"nngrade": {"role": "setup"}} if role == "setup" else {}
            add(nbformat.v4.new_code_cell(cell.source, metadata={**keep, **extra}),
                "setup" if role else "code")
        if i == last_setup:
            add(nbformat.v4.new_code_cell(CHECKER_CODE.format(sheet=sheet.name),
                                          metadata={"nngrade": {"role": "checker"}}), "checker")
    nb.cells = cells
    return nb


def public_json_text(sheet: Sheet) -> str:
    return json.dumps(public_data(sheet), indent=1, sort_keys=True) + "\n"


def paths_for(sheet: Sheet) -> tuple[Path, Path]:
    """(student notebook, public tests file) generated from a sheet."""
    return STUDENT_DIR / f"{sheet.name}.ipynb", PUBLIC_DIR / f"{sheet.name}.json"


def generate(sheet: Sheet, execute: bool = True) -> tuple[Path, Path]:
    """Write the public tests and the student notebook (executed, outputs stored)."""
    nb_path, json_path = paths_for(sheet)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(public_json_text(sheet))
    nb = student_notebook(sheet)
    if execute:
        from nbclient import NotebookClient
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(nb_path.parent)}}).execute()
        for cell in nb.cells:  # keep stored outputs free of run-dependent metadata
            cell.metadata.pop("execution", None)
    nbformat.write(nb, str(nb_path))
    return nb_path, json_path


def _cell_key(cell: Any) -> tuple:
    meta = {k: v for k, v in cell.metadata.items() if k not in ("execution",)}
    return (cell.cell_type, cell.get("id"), cell.source, json.dumps(meta, sort_keys=True))


def out_of_date(sheet: Sheet) -> list[str]:
    """Why the generated files differ from what the source would produce (empty: up to date)."""
    nb_path, json_path = paths_for(sheet)
    problems = []
    why = "missing" if not json_path.exists() else codec.same_json(
        json.loads(json_path.read_text()), json.loads(public_json_text(sheet)),
        rtol=PUBLIC_RTOL, atol=PUBLIC_ATOL)
    if why:
        problems.append(f"{json_path} differs from its source ({why})")
    if not nb_path.exists():
        return problems + [f"{nb_path} is missing"]
    have = nbformat.read(str(nb_path), as_version=4)
    want = student_notebook(sheet)
    if [_cell_key(c) for c in have.cells] != [_cell_key(c) for c in want.cells]:
        problems.append(f"{nb_path} cells differ from what {sheet.path.name} generates")
    if have.metadata.get("nngrade") != want.metadata["nngrade"]:
        problems.append(f"{nb_path} metadata differ")
    if any(c.cell_type == "code" and c.execution_count is None for c in have.cells):
        problems.append(f"{nb_path} has code cells without stored outputs (not executed)")
    return problems

