"""Build progress on stderr: a line redrawn in place on a terminal, plain lines elsewhere (CI logs, pipes)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Clips done of total, rejected so far, frames/s and ETA."""

    def __init__(self, total: int, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.total, self.done, self.rejected, self.frames = total, 0, 0, 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.started = self._shown = time.monotonic()
        self._every = max(1, total // 10)  # plain output: about ten lines per build

    def update(self, kept: bool, frames: int) -> None:
        self.done += 1
        self.rejected += not kept
        self.frames += frames
        now = time.monotonic()
        if self.tty:
            if now - self._shown >= 0.1 or self.done == self.total:
                self.stream.write("\r\033[K" + self.line())
                self._shown = now
        elif self.done % self._every == 0 or self.done == self.total or now - self._shown >= 10.0:
            self.stream.write(self.line() + "\n")
            self._shown = now
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.done:
            self.stream.write("\n")
            self.stream.flush()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.frames / elapsed
        left = (self.total - self.done) * elapsed / self.done if self.done else 0.0
        return (
            f"clips {self.done}/{self.total}, rejected {self.rejected}, {rate:,.0f} frames/s, "
            f"ETA {int(left) // 60}:{int(left) % 60:02d}"
        )
