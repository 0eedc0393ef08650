"""Progress of a long management command: a bar on a terminal, a line per batch otherwise.

Redrawing a bar with carriage returns is right for a person at a terminal and wrong for
a log collector (one "line" of thousands of redraws), so the choice follows `isatty()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

BAR_WIDTH = 30


class Output(Protocol):
    """What a management command's `self.stdout` (an OutputWrapper) offers."""

    def write(self, msg: str = "", style_func: Callable[[str], str] | None = None,
              ending: str | None = None) -> None:
        ...

    def isatty(self) -> bool:
        ...


class Progress:
    def __init__(self, out: Output, *, tty: bool | None = None) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self._drawn = False

    def update(self, label: str, done: int, total: int, detail: str = "") -> None:
        """`done` of `total` items of `label` handled so far; `detail` adds counts."""
        share = done / total if total else 1.0
        counts = f"{done:,}/{total:,} ({share:.0%})" + (f", {detail}" if detail else "")
        if not self.tty:
            self.out.write(f"{label}: {counts}")
            return
        filled = round(BAR_WIDTH * share)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.out.write(f"\r\x1b[2K{label} [{bar}] {counts}", ending="")
        self._drawn = True

    def done(self) -> None:
        """Ends the bar's line, so what follows starts on a line of its own."""
        if self._drawn:
            self.out.write("")
            self._drawn = False
