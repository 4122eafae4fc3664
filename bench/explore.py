"""Responsiveness of the course's live explorations: ``python -m bench.explore [options]``.

Every ``viz.explore`` call of the chapters is found by executing the chapter's code cells in order
(matplotlib's Agg backend, no kernel) up to its last exploration; ``viz.explore`` is wrapped to
record each Exploration it makes. Each one is then driven through the path a learner's slider
takes in Jupyter: its live widget is built (:meth:`nnlib.viz.Exploration.widget`), a slider value
is set, and the background drawing thread is waited for. The time measured is from the value
change to the finished figure's PNG bytes set on the image widget (``_Live.first_ms``; for a
``draw`` that yields several figures while it trains, also ``last_ms``, the final figure).

The sequence of changes is seeded: every change moves one parameter (in turn), half of them a drag
by 1 to 3 steps, half a jump to a random value of the range (for a Range mostly a value that the
website's grid does not have), or another choice for a list. The first figure (drawn when the cell
runs) is not timed. Reports p50/p95/max per exploration, against the target p95 <= 150 ms, with
the machine's load average (os.getloadavg) before and after, and writes ``_build/bench-explore.json``.

Options: ``--changes N`` (default 40), ``--only 01,07`` (chapter number prefixes), ``--json PATH``,
``--seed S``.

JSON schema (``schema`` = 1)::

    schema, created (UTC ISO time), target_p95_ms, changes, seed, wall_s, load_before, load_after,
    environment {python, matplotlib, numpy, cpu, cores},
    explorations: [{chapter, cell, parameters {name: "Range(lo, hi, step)" | "k choices"},
                    caption, changes, progressive, first_ms {p50, p95, max}, last_ms {p50, p95, max},
                    cpu_ms {p50, p95, max} (the drawing thread's CPU time for the first figure: what
                    the figure costs, whatever the load),
                    met (first_ms.p95 <= target)}],
    chapter_seconds {chapter: seconds to execute its cells up to the last exploration}
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import io
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 150.0


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _code(source: str) -> str:
    """A cell's code without IPython magics (``%matplotlib inline`` and the like)."""
    return "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def explorations_of(notebook: Path) -> tuple[list[tuple[int, Any]], float]:
    """Execute ``notebook``'s code cells up to its last ``explore(`` call; the explorations made."""
    import matplotlib.pyplot as plt
    import nbformat

    from nnlib import viz

    nb = nbformat.read(notebook, as_version=4)
    cells = [(i, c.source, "raises-exception" in c.metadata.get("tags", []))
             for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    last = max((i for i, src, _ in cells if "explore(" in src), default=None)
    if last is None:
        return [], 0.0
    found: list[tuple[int, Any]] = []
    original = viz.explore
    current = [0]

    def recording(*args: Any, **kwargs: Any) -> Any:
        e = original(*args, **kwargs)
        found.append((current[0], e))
        return e

    namespace: dict[str, Any] = {"__name__": f"chapter_{notebook.stem}"}
    cwd, started = os.getcwd(), time.perf_counter()
    viz.explore = recording
    os.chdir(notebook.parent)             # chapters read their data relative to themselves
    try:
        for i, src, raises in cells:
            if i > last:
                break
            current[0] = i
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    exec(compile(_code(src), f"{notebook.name}[{i}]", "exec"), namespace)
                except Exception:
                    if not raises:          # a cell tagged raises-exception shows an error on purpose
                        raise
            plt.close("all")
    finally:
        viz.explore = original
        os.chdir(cwd)
    return found, time.perf_counter() - started


def _value_sequence(e: Any, changes: int, rng: random.Random) -> list[tuple[str, Any]]:
    """(parameter, widget value) pairs: drags and jumps, every one a change."""
    from nnlib.viz import Range

    state = {}
    for name, spec in e.params.items():
        d = e.defaults[name]
        state[name] = round((d - spec.lo) / spec.step) if isinstance(spec, Range) else next(
            i for i, v in enumerate(spec) if v is d or v == d)
    out = []
    def size(n: str) -> int:
        return e.params[n].count if isinstance(e.params[n], Range) else len(e.params[n])

    movable = [n for n in e.names if size(n) > 1]
    for k in range(changes):
        name = movable[k % len(movable)]
        spec = e.params[name]
        n = spec.count if isinstance(spec, Range) else len(spec)
        pos = state[name]
        while pos == state[name]:
            if k % 2 == 0:
                pos = min(max(state[name] + rng.choice([-3, -2, -1, 1, 2, 3]), 0), n - 1)
            else:
                pos = rng.randrange(n)
        state[name] = pos
        out.append((name, spec.value(pos) if isinstance(spec, Range) else pos))
    return out


def _stats(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1), "max": round(ordered[-1], 1)}


def drive(e: Any, changes: int, seed: int) -> dict[str, Any]:
    """Move ``e``'s live sliders ``changes`` times; the time from each change to its figure."""
    box = e.widget()
    live = e.live
    sliders = {w.description: w for w in box.children[0].children[:-1]}
    first, last, cpu, progressive = [], [], [], False
    for name, value in _value_sequence(e, changes, random.Random(seed)):
        before = live.drawn
        sliders[name].value = value
        if not live.wait(120):
            raise RuntimeError(f"exploration {e.caption!r}: no figure within 120 s of {name} = {value}")
        if live.error is not None:
            raise RuntimeError(f"exploration {e.caption!r} failed at {name} = {value}: {live.error!r}")
        progressive |= live.drawn - before > 1
        first.append(live.first_ms)
        last.append(live.last_ms)
        cpu.append(live.cpu_ms)
    return {"changes": changes, "progressive": progressive, "first_ms": _stats(first),
            "last_ms": _stats(last), "cpu_ms": _stats(cpu)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--only", default="", help="comma-separated chapter prefixes, e.g. 01,07")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=str(ROOT / "_build" / "bench-explore.json"))
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import numpy as np

    from nnlib.viz import Range

    sys.path.insert(0, str(ROOT))
    started, load_before = time.perf_counter(), os.getloadavg()
    prefixes = [p for p in args.only.split(",") if p]
    notebooks = sorted(p for p in (ROOT / "chapters").glob("*.ipynb")
                       if not prefixes or any(p.name.startswith(x) for x in prefixes))
    results, chapter_s = [], {}
    print(f"{'exploration':34} {'first figure p50':>16} {'p95':>7} {'max':>7}   {'last p95':>8}  "
          f"{'CPU p50':>7}  met")
    for nb in notebooks:
        found, seconds = explorations_of(nb)
        if not found:
            continue
        chapter_s[nb.stem] = round(seconds, 1)
        for k, (cell, e) in enumerate(found):
            r = drive(e, args.changes, args.seed + k)
            params = {n: (f"Range({p.lo:g}, {p.hi:g}, {p.step:g})" if isinstance(p, Range)
                          else f"{len(p)} choices") for n, p in e.params.items()}
            r.update(chapter=nb.stem, cell=cell, parameters=params, caption=e.caption,
                     met=r["first_ms"]["p95"] <= TARGET_MS)
            results.append(r)
            label = f"{nb.stem[:18]}[{cell}] {','.join(e.names)}"[:34]
            print(f"{label:34} {r['first_ms']['p50']:13.0f} ms {r['first_ms']['p95']:4.0f} ms "
                  f"{r['first_ms']['max']:4.0f} ms   {r['last_ms']['p95']:5.0f} ms  "
                  f"{r['cpu_ms']['p50']:4.0f} ms  "
                  f"{'yes' if r['met'] else 'NO'}{'  (progressive)' if r['progressive'] else ''}", flush=True)
    load_after = os.getloadavg()
    report = {
        "schema": 1, "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "target_p95_ms": TARGET_MS, "changes": args.changes, "seed": args.seed,
        "wall_s": round(time.perf_counter() - started, 1),
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
        "environment": {"python": platform.python_version(), "matplotlib": matplotlib.__version__,
                        "numpy": np.__version__, "cpu": _cpu(), "cores": os.cpu_count()},
        "explorations": results, "chapter_seconds": chapter_s,
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    missed = [f"{r['chapter']}[{r['cell']}]" for r in results if not r["met"]]
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} ({os.cpu_count()} cores); "
          f"{len(results)} explorations, {len(results) - len(missed)} meet p95 <= {TARGET_MS:.0f} ms"
          + (f"; missed: {', '.join(missed)}" if missed else "") + f"; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
