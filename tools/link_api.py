"""Link each chapter's first mention of an nnlib function or class to its entry in the API reference.

    python tools/link_api.py [NOTEBOOK ...]      (default: chapters/*.ipynb)

In the MARKDOWN cells of each notebook (never code cells, never outputs), an inline code span that
names a public nnlib object -- ``nnlib.MLP``, ``nnlib.gradcheck(net, X, y)``, ``net.fit`` (``net``
is read as an :class:`nnlib.MLP`), ``nnlib.datasets.xor()`` -- becomes, at its first mention in
the notebook, the MyST role ``{py:obj}`TEXT <TARGET>```: the same text, now a link to the entry the
API pages (api/*.md, Sphinx autodoc) document for that object. Later mentions stay plain code.

The target is found by importing nnlib and following the dotted name, so only names that exist
are linked (a stale name such as ``nnlib.gradcheck.numerical_gradient``, which is not an object,
is left alone and reported). The script is idempotent: a mention already linked counts as the
first one, and running it again changes nothing. Spans inside fenced code blocks and ``$...$``
maths are never touched. Prints one line per link made.
"""
from __future__ import annotations

import importlib
import inspect
import re
import sys
import types
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import nnlib  # noqa: E402

# the modules that have a page in api/ (documented with automodule)
DOCUMENTED_MODULES = ("activations", "losses", "layers", "mlp", "optim", "train", "numgrad", "metrics",
                      "datasets", "course", "viz", "kernels", "train_kernels", "autodiff", "recipe",
                      "playground")
# names that stand for an MLP in the prose
NETWORK_NAMES = ("net",)

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# a code span that is a dotted name, optionally called: nnlib.MLP, nnlib.MLP([2, 1]), net.fit
MENTION = re.compile(rf"^(?P<path>{NAME}(?:\.{NAME})+)(?P<call>\(.*\))?$", re.S)
# an inline code span not already the content of a role ({role}`...`), or a linked role
SPAN = re.compile(r"(?P<role>\{py:[a-z]+\}`(?P<rtext>[^`]*)`)|(?<![`}])`(?P<code>[^`\n]+)`(?!`)")
FENCE = re.compile(r"^(```|~~~|:::)")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)


def _top_level_name(obj: Any) -> str | None:
    for name in nnlib.__all__:
        if not isinstance(getattr(nnlib, name, None), types.ModuleType) and getattr(nnlib, name, None) is obj:
            return f"nnlib.{name}"
    return None


def documented_name(obj: Any) -> str | None:
    """The name under which the API pages document ``obj``, or None if they do not."""
    if isinstance(obj, types.ModuleType):
        short = obj.__name__.removeprefix("nnlib.")
        return obj.__name__ if obj.__name__ == "nnlib" or short in DOCUMENTED_MODULES else None
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    top = _top_level_name(obj)
    if top:
        return top
    fn = getattr(obj, "py_func", obj)          # a compiled kernel
    module, qual = getattr(fn, "__module__", ""), getattr(fn, "__qualname__", "")
    if not (inspect.isfunction(fn) or inspect.isclass(fn)) or "<" in qual:
        return None
    if module.removeprefix("nnlib.") not in DOCUMENTED_MODULES:
        return None
    if any(part.startswith("_") for part in qual.split(".")):
        return None
    owner, _, member = qual.rpartition(".")
    if owner:                                   # a method: documented with its class
        cls_name = documented_name(getattr(sys.modules[module], owner.split(".")[0], None))
        return f"{cls_name}.{member}" if cls_name else None
    return f"{module}.{qual}"


def resolve(path: str) -> str | None:
    """The documented name for a dotted ``path`` as written in the prose, or None."""
    head, *rest = path.split(".")
    if head in NETWORK_NAMES:
        if len(rest) != 1 or rest[0].startswith("_"):
            return None
        member = rest[0]
        if member in vars(nnlib.MLP) or member in _mlp_instance_attributes():
            return f"nnlib.MLP.{member}"
        return None
    if head != "nnlib":
        return None
    obj: Any = nnlib
    parent: Any = None
    for part in rest:
        if part.startswith("_"):
            return None
        parent = obj
        try:
            obj = getattr(obj, part)
        except AttributeError:
            if not isinstance(obj, types.ModuleType):
                return None
            try:                                # a submodule not imported yet (nnlib.kernels)
                obj = importlib.import_module(f"{obj.__name__}.{part}")
            except ImportError:
                return None
    if isinstance(obj, nnlib.activations.Activation):
        return f"nnlib.activations.{obj.name}"  # documented by autodata on the activations page
    if len(rest) >= 2 and inspect.isclass(parent) and rest[-1] in vars(parent):
        owner = documented_name(parent)          # a member named through its class, e.g.
        if owner:                                # nnlib.MLP.fit: documented with the class
            return f"{owner}.{rest[-1]}"
    return documented_name(obj)


def _mlp_instance_attributes() -> set[str]:
    """Public attributes an MLP sets in __init__ with a ``#:`` doc comment (autodoc documents those)."""
    source = inspect.getsource(nnlib.MLP)
    return set(re.findall(r"#:.*\n(?:\s*#:.*\n)*\s*self\.([a-z]\w*)\b", source))


def link_markdown(text: str, seen: set[str]) -> tuple[str, list[str]]:
    """Link the first mention of each object in ``text`` not yet in ``seen``; returns (text, report
    lines: one per link made, and one per ``nnlib.`` name that names no documented object)."""
    out, made, in_fence = [], [], False
    for line in text.splitlines(keepends=True):
        if FENCE.match(line.lstrip()):
            in_fence = not in_fence
            out.append(line)
            continue
        if in_fence:
            out.append(line)
            continue
        # leave $...$ maths alone: split the line into maths and prose
        pieces, last = [], 0
        for m in MATH.finditer(line):
            pieces.append((False, line[last:m.start()]))
            pieces.append((True, m.group(0)))
            last = m.end()
        pieces.append((False, line[last:]))
        new_line = ""
        for is_math, piece in pieces:
            if is_math:
                new_line += piece
                continue

            def replace(m: re.Match) -> str:
                if m.group("role") is not None:         # already linked: counts as a mention
                    target = re.search(r"<([^<>]+)>$", m.group("rtext"))
                    name = target.group(1) if target else m.group("rtext")
                    seen.add(name)
                    return m.group(0)
                code = m.group("code")
                mention = MENTION.match(code.strip())
                if not mention or "<" in code or ">" in code:
                    return m.group(0)
                name = resolve(mention.group("path"))
                if name is None:
                    if mention.group("path").split(".")[0] == "nnlib":
                        made.append(f"{code} -> NOT LINKED (no such documented nnlib object)")
                    return m.group(0)
                if name in seen:
                    return m.group(0)
                seen.add(name)
                made.append(f"{code} -> {name}")
                return f"{{py:obj}}`{code} <{name}>`"

            new_line += SPAN.sub(replace, piece)
        out.append(new_line)
    return "".join(out), made


def link_notebook(path: Path) -> list[str]:
    """Link the mentions in one notebook's markdown cells, in place; returns the links made."""
    nb = nbformat.read(path, as_version=4)
    seen: set[str] = set()
    made: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        new, links = link_markdown(cell.source, seen)
        if new != cell.source:
            cell.source = new
        made += links
    if any("NOT LINKED" not in line for line in made):
        nbformat.write(nb, path)
    return made


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "chapters").glob("*.ipynb"))
    for path in paths:
        for link in link_notebook(path):
            print(f"{path.name}: {link}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
