"""core.progress: a line per batch for logs, a bar redrawn in place on a terminal."""

from __future__ import annotations

from io import StringIO

from django.core.management.base import OutputWrapper

from core.progress import Progress


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_a_line_per_update_when_not_a_terminal():
    """Each update is a complete line with the counts and the share done."""
    out = StringIO()
    progress = Progress(OutputWrapper(out))
    progress.update("rows", 500, 2000, "12 rotated")
    progress.update("rows", 2000, 2000)
    progress.done()
    assert out.getvalue() == "rows: 500/2,000 (25%), 12 rotated\nrows: 2,000/2,000 (100%)\n"


def test_a_bar_redrawn_in_place_on_a_terminal():
    """On a terminal the bar is redrawn with a carriage return, and done() ends its line."""
    out = Terminal()
    progress = Progress(OutputWrapper(out))
    progress.update("rows", 1, 2)
    progress.update("rows", 2, 2)
    assert "\n" not in out.getvalue() and out.getvalue().count("\r") == 2
    assert out.getvalue().endswith("rows [" + "#" * 30 + "] 2/2 (100%)")
    progress.done()
    assert out.getvalue().endswith("\n")


def test_done_without_a_bar_writes_nothing():
    """A command that had nothing to report adds no empty line."""
    out = Terminal()
    Progress(OutputWrapper(out)).done()
    assert out.getvalue() == ""


def test_an_empty_total_counts_as_done():
    """Zero of zero is 100%, not a division by zero."""
    out = StringIO()
    Progress(OutputWrapper(out)).update("rows", 0, 0)
    assert out.getvalue() == "rows: 0/0 (100%)\n"
