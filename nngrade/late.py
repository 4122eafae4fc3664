"""Late penalties from submission times the instructor supplies (never a file's mtime or the
wall clock).

The instructor gives a CSV with a ``student`` and a ``submitted_at`` column (ISO 8601 with a time
zone, as an LMS exports it), a deadline, and a policy ``per_day=P,cap=C,grace=G``: a submission
later than ``deadline + grace`` is ``ceil((submitted_at - deadline) / 1 day)`` days late and loses
``min(P * days, C)`` percent of the points it earned::

    late_days = 0                                  if submitted_at <= deadline + grace
              = ceil((submitted_at - deadline) / 1 day)   otherwise
    penalty   = total * min(per_day * late_days, cap) / 100
    final     = total - penalty
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class LateError(ValueError):
    """A late policy, deadline or submission-time file that cannot be used (the message says
    what was wrong and what is expected)."""


def parse_time(text: str, where: str) -> datetime:
    """An ISO 8601 time with a time zone (``2026-11-20T23:59:00+01:00`` or ``...Z``)."""
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise LateError(f"{where}: {text!r} is not an ISO 8601 time; expected e.g. "
                        f"2026-11-20T23:59:00+00:00") from None
    if t.tzinfo is None:
        raise LateError(f"{where}: {text!r} has no time zone; expected e.g. "
                        f"2026-11-20T23:59:00+00:00 or 2026-11-20T23:59:00Z")
    return t


def _duration(text: str) -> timedelta:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if not m:
        raise LateError(f"late policy: grace {text!r} is not a duration; expected a number and a "
                        f"unit s, m, h or d (e.g. grace=15m)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


@dataclass(frozen=True)
class LatePolicy:
    deadline: datetime
    per_day: float = 10.0        # percent of the earned points per day late
    cap: float = 100.0           # at most this percent in all
    grace: timedelta = timedelta(0)

    @classmethod
    def parse(cls, text: str, deadline: str) -> LatePolicy:
        """``per_day=10,cap=50,grace=15m`` (percent, percent, duration) and an ISO deadline."""
        values: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, eq, value = part.partition("=")
            if not eq or key.strip() not in ("per_day", "cap", "grace"):
                raise LateError(f"late policy: {part!r} is not understood; expected "
                                f"per_day=PERCENT,cap=PERCENT,grace=DURATION (e.g. "
                                f"per_day=10,cap=50,grace=15m)")
            values[key.strip()] = value.strip().rstrip("%")
        try:
            per_day = float(values.get("per_day", 10))
            cap = float(values.get("cap", 100))
        except ValueError:
            raise LateError(f"late policy: per_day and cap must be numbers (percent), got "
                            f"{text!r}") from None
        if not (0 <= per_day <= 100 and 0 <= cap <= 100):
            raise LateError(f"late policy: per_day and cap are percentages between 0 and 100, got "
                            f"per_day={per_day:g}, cap={cap:g}")
        return cls(parse_time(deadline, "--deadline"), per_day, cap,
                   _duration(values.get("grace", "0s")))

    def describe(self) -> str:
        g = int(self.grace.total_seconds())
        grace = f"{g // 60}m" if g % 60 == 0 else f"{g}s"
        return (f"per_day={self.per_day:g}%,cap={self.cap:g}%,grace={grace},"
                f"deadline={self.deadline.isoformat()}")

    def days_late(self, submitted: datetime) -> int:
        late = submitted - self.deadline
        if late <= self.grace:
            return 0
        return math.ceil(late / timedelta(days=1))

    def apply(self, total: float, submitted: datetime | None) -> tuple[int, float, float]:
        """(late days, penalty in points, final points)."""
        if submitted is None:
            return 0, 0.0, total
        days = self.days_late(submitted)
        penalty = round(total * min(self.per_day * days, self.cap) / 100, 6)
        return days, penalty, round(total - penalty, 6)


def read_times(path: Path) -> dict[str, datetime]:
    """The ``student -> submitted_at`` table of a CSV (header ``student,submitted_at``; other
    columns ignored). The student is a gradebook id or a submitted file's name."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
            header = rows and list(rows[0]) or []
    except OSError as exc:
        raise LateError(f"cannot read {path}: {exc.strerror}") from exc
    if rows and not {"student", "submitted_at"} <= set(header):
        raise LateError(f"{path}: the header must have the columns student and submitted_at "
                        f"(found: {', '.join(map(str, header))})")
    out: dict[str, datetime] = {}
    for k, row in enumerate(rows, start=2):
        student = (row.get("student") or "").strip()
        when = (row.get("submitted_at") or "").strip()
        if not student or not when:
            raise LateError(f"{path}, line {k}: a student and a submitted_at time are needed")
        if student in out:
            raise LateError(f"{path}, line {k}: student {student!r} appears twice")
        out[student] = parse_time(when, f"{path}, line {k}")
    return out
