"""The student's side: ``check("q1")`` runs the public tests on the student's own function.

This runs inside the student's kernel, so it is feedback only: grades are decided by
``nngrade grade`` in a separate process that never trusts the student's kernel.
"""
from __future__ import annotations

import html
import json
import sys
from collections.abc import Callable
from importlib import resources
from typing import Any

from . import data
from .diagnose import Verdict, compare, exception, input_modified, modified_inputs


class Report:
    """The result of one ``check``: prints as plain text, renders with a link in Jupyter."""

    def __init__(self, lines: list[str], link_text: str, url: str, passed: bool) -> None:
        self.lines, self.link_text, self.url, self.passed = lines, link_text, url, passed

    def __repr__(self) -> str:
        return "\n".join(self.lines + [f"Re-read: {self.link_text} ({self.url})"])

    def _repr_html_(self) -> str:
        body = "<br>".join(html.escape(line) for line in self.lines)
        return (f'<pre style="white-space: pre-wrap">{body}<br>Re-read: '
                f'<a href="{html.escape(self.url)}">{html.escape(self.link_text)}</a></pre>')


def load_public(sheet: str) -> dict[str, Any]:
    """The public tests of a sheet (shipped inside the nngrade package)."""
    text = resources.files("nngrade").joinpath("public", f"{sheet}.json").read_text()
    return json.loads(text)


def run_public(spec: dict[str, Any], fn: Callable[..., Any]) -> list[tuple[str, Verdict]]:
    """Run one question's public tests on ``fn``; return (test name, verdict) pairs."""
    results = []
    for t in spec["public"]:
        args = data.from_json(t["args"])
        before = data.fresh(args)
        try:
            got = fn(**args)
        except NotImplementedError:
            return [(t["name"], exception("NotImplementedError", ""))]
        except Exception as exc:  # feedback only: show what the answer raised
            results.append((t["name"], exception(type(exc).__name__, str(exc))))
            continue
        verdict = compare(data.from_json(t["expected"]), got, rtol=spec["rtol"],
                          atol=spec["atol"], args=before)
        changed = modified_inputs(before, args)
        if verdict.ok and changed:
            verdict = input_modified(changed)
        results.append((t["name"], verdict))
    return results


def checker(sheet: str) -> Callable[[str], Report]:
    """Return the ``check`` function of a sheet: ``check = checker("01_neuron")``."""
    public = load_public(sheet)

    def check(question: str) -> Report:
        """Run the public tests of ``question`` (e.g. ``"q1"``) on your function and explain."""
        spec = public["questions"][question]
        name = spec["function"]
        env = sys._getframe(1).f_globals
        fn = env.get(name)
        lines = [f"{question}: {name}() -- {len(spec['public'])} public test(s)"]
        passed = False
        if not callable(fn):
            lines.append(f"  not found: define a function called {name}() in the answer cell "
                         f"(did you rename it, or not run the cell?)")
        else:
            results = run_public(spec, fn)
            if results and results[0][1].kind == "not_implemented":
                lines.append("  not implemented yet: replace the `raise NotImplementedError` line "
                             "with your answer, run the cell, then run this check again")
            else:
                for test_name, v in results:
                    mark = "ok  " if v.ok else "FAIL"
                    lines.append(f"  {mark} {test_name}" + ("" if v.ok else f": {v.message}"))
                passed = all(v.ok for _, v in results)
                lines.append("  All public tests passed." if passed else
                             "  Some public tests failed.")
        lines.append(f"  Grading uses {spec['hidden_tests']} hidden test(s) worth "
                     f"{spec['points']:g} point(s) with other inputs; public tests earn no points.")
        link = f"chapter {spec['chapter']}, section {spec['section']}"
        url = f"../chapters/{spec['chapter']}.html#{spec['section']}"
        return Report(lines, link, url, passed)

    return check
