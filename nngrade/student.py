"""The student's side: ``check("q1")`` runs the public tests on the student's own function.

This runs inside the student's kernel, so it is feedback only: grades are decided by
``nngrade grade`` in a separate process that never trusts the student's kernel.

In Jupyter, each ``check`` also records whether the question passed its public tests in a local
progress file, ``~/.inside-neural-networks/progress.json`` (or the file named by the environment
variable ``NN_PROGRESS_FILE``; ``NN_PROGRESS_FILE=off`` turns recording off). The file has the
schema of the website's progress export (see ``PROGRESS_SCHEMA``), so the site's *Import* button
shows the exercise progress next to the reading progress. Executed headless (the website build,
nbval, grading) nothing is recorded unless ``NN_PROGRESS_FILE`` names a file. A file that cannot
be read or written never makes a check fail: the check says so in one line and goes on.

Two kernels may run ``check`` at the same moment (two sheets open): each read-modify-write of the
file holds an exclusive lock on ``.progress.json.lock`` beside it (``flock`` on Linux and macOS,
``msvcrt.locking`` on Windows), so no result is lost; a writer that cannot get the lock within
``LOCK_TIMEOUT`` seconds gives up with that one line.
"""
from __future__ import annotations

import html
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from . import codec
from .i18n import localized_link, translate_test_name, translator
from .verdicts import Verdict, compare, exception, input_modified, modified_inputs


def in_jupyter() -> bool:
    """True in a kernel started by a Jupyter server (JupyterLab, Notebook), which sets
    JPY_SESSION_NAME; False when a notebook is executed headless (website build, nbval)."""
    return bool(os.environ.get("JPY_SESSION_NAME"))


#: The progress file's format, shared with the website's script (_static/progress.js): an object
#: ``{"schema": PROGRESS_SCHEMA, "version": PROGRESS_VERSION, "pages": {...}, "answered": {...},
#: "exercises": {sheet: {"questions": [ids], "results": {id: {"passed": bool, "at": iso}}}}}``.
PROGRESS_SCHEMA = "inside-neural-networks/progress"
PROGRESS_VERSION = 1
PROGRESS_ENV = "NN_PROGRESS_FILE"
DEFAULT_PROGRESS_FILE = Path("~/.inside-neural-networks/progress.json")
#: Seconds a ``check`` waits for another kernel's write of the progress file before giving up.
LOCK_TIMEOUT = 10.0

if sys.platform == "win32":  # pragma: no cover - the course's tests run on Linux
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # the lock file's first byte
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def locked(path: Path, timeout: float | None = None) -> Iterator[Path]:
    """Hold the exclusive lock of the progress file ``path`` (the file ``.NAME.lock`` beside it,
    kept between uses) while the block runs; yields the lock file's path.

    Other processes and threads wait for it; after ``timeout`` seconds (default
    ``LOCK_TIMEOUT``) of waiting, raises TimeoutError (an OSError) saying who holds what."""
    wait = LOCK_TIMEOUT if timeout is None else timeout
    lock = path.with_name(f".{path.name}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"another check() has been writing it for over {wait:g} s "
                                   f"(it holds {lock}; delete that file if no Jupyter kernel is running)")
            time.sleep(0.01)
        try:
            yield lock
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def progress_file() -> Path | None:
    """Where ``check`` records progress, or None when it records nothing (see the module text)."""
    named = os.environ.get(PROGRESS_ENV, "").strip()
    if named.lower() in ("off", "0", "none", "false"):
        return None
    if named:
        return Path(named).expanduser()
    return DEFAULT_PROGRESS_FILE.expanduser() if in_jupyter() else None


def empty_progress() -> dict[str, Any]:
    return {"schema": PROGRESS_SCHEMA, "version": PROGRESS_VERSION, "pages": {}, "answered": {},
            "exercises": {}}


def read_progress(path: Path) -> dict[str, Any]:
    """The progress in ``path``; an empty record if there is no file.

    Raises ValueError when the file is not a progress file this version understands."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return empty_progress()
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("schema") != PROGRESS_SCHEMA:
        raise ValueError(f"{path} is not a progress file (expected \"schema\": "
                         f"\"{PROGRESS_SCHEMA}\")")
    version = data.get("version")
    if not isinstance(version, int) or not 1 <= version <= PROGRESS_VERSION:
        raise ValueError(f"{path} has progress version {version!r}; this nngrade reads versions "
                         f"1 to {PROGRESS_VERSION}")
    for key in ("pages", "answered", "exercises"):
        if not isinstance(data.get(key, {}), dict):
            raise ValueError(f"{path}: \"{key}\" must be an object")
        data.setdefault(key, {})
    return data


def record_result(path: Path, sheet: str, questions: list[str], question: str, passed: bool,
                  *, now: datetime | None = None) -> None:
    """Record in ``path`` that ``question`` of ``sheet`` passed (or failed) its public tests.

    Keeps everything else in the file; written to a temporary file that then replaces it, so a
    reader never sees half a file; the read, change and write hold ``locked(path)``, so two
    kernels checking at once both keep their result. Raises OSError (TimeoutError when the lock
    stays taken) or ValueError (bad existing file)."""
    with locked(path):
        _record_unlocked(path, sheet, questions, question, passed, now)


def _record_unlocked(path: Path, sheet: str, questions: list[str], question: str, passed: bool,
                     now: datetime | None) -> None:
    data = read_progress(path)
    # UTC with a "Z", as the website's schema expects ("2026-11-30T11:50:00Z")
    at = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    entry = data["exercises"].get(sheet)
    if not isinstance(entry, dict) or not isinstance(entry.get("results", {}), dict):
        entry = {}  # a damaged entry of this sheet is replaced, the rest of the file kept
    entry["questions"] = list(questions)
    entry.setdefault("results", {})[question] = {"passed": bool(passed), "at": at}
    data["exercises"][sheet] = entry
    data["version"] = PROGRESS_VERSION
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _save_progress(sheet: str, questions: list[str], question: str, passed: bool,
                   translate: Callable[[str], str] = str) -> str | None:
    """Record the result where ``progress_file()`` says; a line to show if that failed."""
    path = progress_file()
    if path is None:
        return None
    try:
        record_result(path, sheet, questions, question, passed)
    except (OSError, ValueError) as exc:  # progress is a convenience: never fail the check
        return translate("  (Your progress was not saved to {path}: {error})").format(
            path=path, error=exc)
    return None


class Report:
    """The result of one ``check``: prints as plain text, renders with a link in Jupyter.

    ``link`` holds the section's ``title``, its ``notebook`` link (relative to the exercise
    notebook: ``../chapters/NN_name.ipynb#Heading-text``) and its ``page`` on the built website
    (``../chapters/NN_name.html#sec-label``). In Jupyter the HTML links the chapter's notebook;
    executed headless (the website, nbval) it links the web page, which exists there."""

    def __init__(self, lines: list[str], link: dict[str, str], passed: bool,
                 translate: Callable[[str], str] = str) -> None:
        self.lines, self.link, self.passed, self._ = lines, link, passed, translate

    @property
    def url(self) -> str:
        return self.link["notebook"] if in_jupyter() else self.link["page"]

    def __repr__(self) -> str:
        _ = self._
        return "\n".join(self.lines + [_('Re-read: "{title}" ({notebook} in Jupyter, {page} on '
                                          'the website)').format(**self.link)])

    def _repr_html_(self) -> str:
        _ = self._
        body = "<br>".join(html.escape(line) for line in self.lines)
        link = (f'<a href="{html.escape(self.url)}">{html.escape(self.link["title"])}</a>')
        reread = html.escape(_("Re-read: {title}")).format(title=link)  # not in an f-string:
        return f'<pre style="white-space: pre-wrap">{body}<br>{reread}</pre>'  # xgettext skips those


def load_public(sheet: str) -> dict[str, Any]:
    """The public tests of a sheet (shipped inside the nngrade package)."""
    text = resources.files("nngrade").joinpath("public", f"{sheet}.json").read_text()
    return json.loads(text)


def run_public(spec: dict[str, Any], fn: Callable[..., Any]) -> list[tuple[str, Verdict]]:
    """Run one question's public tests on ``fn``; return (test name, verdict) pairs."""
    results = []
    for t in spec["public"]:
        args = codec.from_json(t["args"])
        before = codec.fresh(args)
        try:
            got = fn(**args)
        except NotImplementedError:
            return [(t["name"], exception("NotImplementedError", ""))]
        except Exception as exc:  # feedback only: show what the answer raised
            results.append((t["name"], exception(type(exc).__name__, str(exc))))
            continue
        verdict = compare(codec.from_json(t["expected"]), got, rtol=spec["rtol"],
                          atol=spec["atol"], args=before)
        changed = modified_inputs(before, args)
        if verdict.ok and changed:
            verdict = input_modified(changed)
        results.append((t["name"], verdict))
    return results


def _names_used(fn: Callable[..., Any]) -> set[str]:
    """Global names a Python function (and the functions nested in it) refers to."""
    names: set[str] = set()
    stack = [getattr(fn, "__code__", None)]
    while stack:
        code = stack.pop()
        if code is None:
            continue
        names.update(code.co_names)
        stack += [c for c in code.co_consts if hasattr(c, "co_names")]
    return names


def checker(sheet: str, lang: str | None = None) -> Callable[[str], Report]:
    """Return the ``check`` function of a sheet: ``check = checker("01_neuron")``.

    ``lang`` is the language of the feedback (``"zh_CN"`` in the Chinese sheets; English by
    default); the tests and their verdicts are the same in every language."""
    public = load_public(sheet)
    _ = translator(lang)

    def check(question: str) -> Report:
        """Run the public tests of ``question`` (e.g. ``"q1"``) on your function and explain."""
        spec = public["questions"][question]
        name = spec["function"]
        env = sys._getframe(1).f_globals
        fn = env.get(name)
        lines = [_("{question}: {name}() -- {count} public test(s)").format(
            question=question, name=name, count=len(spec["public"]))]
        passed = False
        results: list[tuple[str, Verdict]] = []
        if not callable(fn):
            lines.append(_("  not found: define a function called {name}() in the answer cell "
                           "(did you rename it, or not run the cell?)").format(name=name))
        else:
            results = run_public(spec, fn)
            if results and results[0][1].kind == "not_implemented":
                lines.append(_("  not implemented yet: replace the `raise NotImplementedError` "
                               "line with your answer, run the cell, then run this check again"))
            else:
                for name_of_test, v in results:
                    mark = _("ok  ") if v.ok else _("FAIL")
                    name_ = translate_test_name(name_of_test, _)
                    lines.append(f"  {mark} {name_}" if v.ok else
                                 _("  {mark} {test}: {verdict}").format(
                                     mark=mark, test=name_, verdict=v.text(_)))
                passed = all(v.ok for _r, v in results)
                lines.append(_("  All public tests passed.") if passed else
                             _("  Some public tests failed."))
                if not passed:
                    lines += _dependencies(question, fn, env)
        lines.append(_("  Grading uses {hidden} hidden test(s) worth {points} point(s) with other "
                       "inputs; public tests earn no points.").format(
                           hidden=spec["hidden_tests"], points=f"{spec['points']:g}"))
        if callable(fn) and not (results and results[0][1].kind == "not_implemented"):
            problem = _save_progress(sheet, list(public["questions"]), question, passed, _)
            if problem:
                lines.append(problem)
        return Report(lines, localized_link(spec["chapter"], spec["section"], spec["link"], lang),
                      passed, _)

    def _dependencies(question: str, fn: Callable[..., Any], env: dict[str, Any]) -> list[str]:
        """Say when the function calls another question's function that fails its own public
        tests: that mistake shows here too, and hides this question's own diagnosis."""
        out = []
        used = _names_used(fn)
        for qid, other in public["questions"].items():
            dep = env.get(other["function"])
            if qid == question or other["function"] not in used or not callable(dep):
                continue
            if not all(v.ok for _, v in run_public(other, dep)):
                out.append(_("  Note: {name}() calls {other}() from {qid}, which fails its own "
                             "public tests: fix {qid} first, then check {question} again").format(
                                 name=spec_name(question), other=other["function"], qid=qid,
                                 question=question))
        return out

    def spec_name(question: str) -> str:
        return public["questions"][question]["function"]

    return check
