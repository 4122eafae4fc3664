"""The append-only result log, shards of a run, and merging the parts of a sharded run.

* The log ``<gradebook>.log.jsonl`` holds one JSON object per graded student (see
  :func:`nngrade.report.record`), appended and flushed as each result arrives: a crash loses at
  most the submissions in flight, ``--resume`` skips the students already there, and a later
  record of a student (a regrade) replaces the earlier one.
* ``--shard I/N`` grades the students whose index, in the order of their ids, is I modulo N
  (0 <= I < N), and writes a manifest ``<gradebook>.shard.json`` beside its gradebook: the shard,
  the sheet version (hash), the seed policy and every student of the folder, so that
  :func:`merge` can tell which students are missing.
* :func:`merge` joins the parts' logs into one gradebook, dropping duplicates (a retried task
  that graded a student twice), refusing parts graded with another sheet version, seed policy
  or late policy, and listing the students no part graded.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

LOG_SUFFIX = ".log.jsonl"
MANIFEST_SUFFIX = ".shard.json"


class MergeError(ValueError):
    """Parts that cannot be merged (the message names the part and the difference)."""


def log_path(gradebook: Path) -> Path:
    return Path(str(gradebook) + LOG_SUFFIX)


def manifest_path(gradebook: Path) -> Path:
    return Path(str(gradebook) + MANIFEST_SUFFIX)


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` with 0 <= I < N (Slurm's --array=0-3, a Kubernetes JOB_COMPLETION_INDEX)."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard {text!r}: expected I/N with whole numbers, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise ValueError(f"--shard {text!r}: expected 0 <= I < N (shards are numbered from 0)")
    return i, n


def select(items: list[T], key: Any, shard: tuple[int, int] | None) -> list[T]:
    """The share of ``items`` of shard (I, N): sorted by ``key``, every N-th from index I."""
    ordered = sorted(items, key=key)
    if shard is None:
        return ordered
    i, n = shard
    return ordered[i::n]


# -- the log ---------------------------------------------------------------------------------------

def read_log(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The records of a log and the number of lines that could not be read (a line cut short
    by a crash is skipped, never guessed at)."""
    records, bad = [], 0
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    for line in raw.split(b"\n"):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(rec, dict) and isinstance(rec.get("student"), str):
            records.append(rec)
        else:
            bad += 1
    return records, bad


def latest(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """student -> its last record (a regrade replaces an earlier grade)."""
    out: dict[str, dict[str, Any]] = {}
    for rec in records:
        out[rec["student"]] = rec
    return out


class Log:
    """Appends records to a log, one line each, flushed to disk before the next."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(path, "ab")
        if self.fh.tell() > 0:   # a line cut short by a crash must not swallow the next record
            with open(path, "rb") as r:
                r.seek(-1, os.SEEK_END)
                if r.read(1) != b"\n":
                    self.fh.write(b"\n")

    def append(self, record: dict[str, Any]) -> None:
        self.fh.write(json.dumps(record, sort_keys=True).encode("ascii") + b"\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- merging ---------------------------------------------------------------------------------------

@dataclass
class Merged:
    records: dict[str, dict[str, Any]]             # student -> record
    expected: list[str]                            # every student of the folder (from manifests)
    missing: list[str]                             # expected, graded by no part
    missing_shards: list[str]                      # "I/N" with no part
    duplicates: int = 0                            # records dropped as duplicates
    conflicts: list[str] = field(default_factory=list)   # duplicates whose grades differed
    not_graded: list[dict[str, str]] = field(default_factory=list)
    sheet: str = ""
    sheet_hash: str = ""


def base_of(part: Path) -> Path:
    """The gradebook path of a part given as its CSV, its log or its manifest."""
    s = str(part)
    for suffix in (LOG_SUFFIX, MANIFEST_SUFFIX):
        if s.endswith(suffix):
            return Path(s[: -len(suffix)])
    return part


def _grade_key(rec: dict[str, Any]) -> Any:
    return ([(q["question"], q["score"], q.get("kinds")) for q in rec.get("questions", [])],
            rec.get("final"), rec.get("file"))


def merge(parts: list[Path]) -> Merged:
    """Join the logs of a sharded run's parts (see the module's docstring)."""
    if not parts:
        raise MergeError("no parts given")
    manifests: dict[Path, dict[str, Any]] = {}
    records: list[tuple[Path, dict[str, Any]]] = []
    for part in parts:
        base = base_of(Path(part))
        mpath = manifest_path(base)
        try:
            manifests[base] = json.loads(mpath.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MergeError(f"{base}: no {mpath.name} beside it: was it graded with "
                             f"--shard I/N?") from None
        except ValueError as exc:
            raise MergeError(f"{mpath}: not a shard manifest ({exc})") from None
        recs, _ = read_log(log_path(base))
        records += [(base, r) for r in recs]
    first_base, first = next(iter(manifests.items()))
    for what in ("sheet", "sheet_hash", "shards", "seed_policy", "late_policy"):
        for base, m in manifests.items():
            if m.get(what) != first.get(what):
                raise MergeError(f"{base} was graded with {what} {m.get(what)!r}, but "
                                 f"{first_base} with {first.get(what)!r}: merge only the parts "
                                 f"of one run (regrade the odd part with the same sheet version "
                                 f"and options)")
    if first["seed_policy"] == "fixed":
        seeds = {m.get("seed") for m in manifests.values()}
        if len(seeds) > 1:
            raise MergeError(f"the parts were graded with different fixed seeds {sorted(seeds)}: "
                             f"pass the same --seed to every shard")
    for base, r in records:
        if r.get("sheet_hash") != first["sheet_hash"]:
            raise MergeError(f"{log_path(base)}: student {r['student']!r} was graded with sheet "
                             f"version {r.get('sheet_hash')!r}, the parts with "
                             f"{first['sheet_hash']!r}: regrade that part")
    n = first["shards"]
    seen = {m["shard"] for m in manifests.values()}
    missing_shards = [f"{i}/{n}" for i in range(n) if i not in seen]
    out: dict[str, dict[str, Any]] = {}
    dup, conflicts = 0, []
    for _, r in sorted(records, key=lambda br: str(br[1].get("graded_at"))):
        old = out.get(r["student"])
        if old is not None:
            dup += 1
            if _grade_key(old) != _grade_key(r):
                conflicts.append(r["student"])
        out[r["student"]] = r   # the latest graded_at wins
    expected = sorted({s for m in manifests.values() for s in m.get("students", [])})
    not_graded = {(e["file"], e["reason"]): e for m in manifests.values()
                  for e in m.get("not_graded", [])}
    return Merged(dict(sorted(out.items())), expected, [s for s in expected if s not in out],
                  missing_shards, dup, sorted(set(conflicts)), list(not_graded.values()),
                  first["sheet"], first["sheet_hash"])
