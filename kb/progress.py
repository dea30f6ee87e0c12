"""Progress of long work: a tqdm bar (rate and ETA) on a terminal, a plain line every few seconds in logs."""

from __future__ import annotations

import sys
import time


class Progress:
    """``Progress(total, "passages", "embedded")`` reports "embedded 40/100 passages (12.0/s, ETA 5s)"."""

    def __init__(
        self, total: int, unit: str, done_verb: str, stream=None, interval: float = 10.0, enabled: bool = True
    ):
        self.total, self.done, self.enabled = total, 0, enabled
        self.unit, self.done_verb = unit, done_verb
        self.stream = stream or sys.stderr
        self.interval = interval
        self.started = self.last = time.monotonic()
        self.bar = None
        if enabled and self.stream.isatty() and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=unit.rstrip("s"), desc=done_verb, file=self.stream)

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if self.enabled and (now - self.last >= self.interval or self.done == self.total):
            self.last = now
            rate = self.done / max(now - self.started, 1e-9)
            eta = (self.total - self.done) / rate if rate else 0
            print(
                f"{self.done_verb} {self.done}/{self.total} {self.unit} ({rate:.1f}/s, ETA {eta:.0f}s)",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
