"""Progress of a grading run on stderr: done/total, rate, time left, the slowest submissions.

On a terminal one line is redrawn in place; otherwise (a log file, CI, a Slurm job) plain lines
are printed at every tenth of the work and at most every ``every`` seconds."""
from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Progress:
    def __init__(self, total: int, *, stream: TextIO | None = None, tty: bool | None = None,
                 every: float = 30.0, keep: int = 3) -> None:
        self.total, self.done, self.keep, self.every = total, 0, keep, every
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.start = self.last = time.monotonic()
        self.slowest: list[tuple[float, str]] = []
        self._tenth = 0

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        text = f"graded {self.done}/{self.total}, {rate:.2f}/s"
        if self.done < self.total and rate > 0:
            text += f", about {_clock(left)} left"
        if self.slowest:
            text += "; slowest: " + ", ".join(f"{s} {t:.1f}s" for t, s in self.slowest)
        return text

    def update(self, student: str, seconds: float | None) -> None:
        self.done += 1
        if seconds is not None:
            self.slowest = sorted([*self.slowest, (seconds, student)], reverse=True)[:self.keep]
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r\033[K" + self.line())
            self.stream.flush()
            return
        tenth = self.done * 10 // max(self.total, 1)
        if tenth > self._tenth or now - self.last >= self.every:
            self._tenth, self.last = tenth, now
            print(self.line(), file=self.stream, flush=True)

    def finish(self) -> None:
        if self.tty and self.done:
            self.stream.write("\n")
            self.stream.flush()
