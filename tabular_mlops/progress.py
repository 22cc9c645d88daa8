"""Progress lines for long stages: what is done, the time elapsed and an estimate of the time left.

They go to stderr, flushed, so `dvc repro` shows them as they happen; no output file holds
them, because wall times differ between runs and the committed files must not.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


class Progress:
    """`label: what (done/total), 12.3 s elapsed, about 40.1 s left`, one line per finished step.

    The estimate assumes the steps left take as long as the mean step so far.
    """

    def __init__(self, label: str, total: int, stream: TextIO | None = None, clock: Callable[[], float] = time.perf_counter):
        self.label, self.total, self.done = label, total, 0
        self.stream, self.clock = stream, clock
        self.started = clock()

    def step(self, what: str) -> str:
        self.done += 1
        elapsed = self.clock() - self.started
        left = elapsed / self.done * max(self.total - self.done, 0)
        line = f"{self.label}: {what} ({self.done}/{self.total} steps), {elapsed:.1f} s elapsed, about {left:.1f} s left"
        print(line, file=self.stream or sys.stderr, flush=True)
        return line
