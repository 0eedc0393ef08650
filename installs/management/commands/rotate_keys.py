"""`manage.py rotate_keys`: re-encrypt every stored secret under the first FERNET_KEYS key.

Procedure: put the new key first in FERNET_KEYS (keep the old one after it) on every
web and worker process and restart them; run `rotate_keys`; run `rotate_keys --check`
until it reports 0 values under an old key; only then remove the old key.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.progress import Progress
from installs import rotation


class Command(BaseCommand):
    help = "Re-encrypt every encrypted value with the first key of FERNET_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500,
                            help="Rows read per query (default 500).")
        parser.add_argument("--check", action="store_true",
                            help="Write nothing: count values not under the first key yet.")

    def handle(self, *args: Any, batch_size: int, check: bool, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        started, progress = time.monotonic(), Progress(self.stdout)
        if check:
            self._check(batch_size, progress, started)
            return
        report = rotation.rotate_all(batch_size=batch_size, progress=progress.update)
        progress.done()
        rotation.record_rotation(report)
        for column, count in sorted(report.rotated.items()):
            retried = report.retried[column]
            extra = f" ({retried} changed meanwhile, rotated again)" if retried else ""
            self.stdout.write(f"{column}: {count} rotated{extra}")
        self.stdout.write(f"Rotated {sum(report.rotated.values())} values."
                          f"{self._read(report, started)}")
        self._problems(report)

    def _check(self, batch_size: int, progress: Progress, started: float) -> None:
        report = rotation.check_all(batch_size=batch_size, progress=progress.update)
        progress.done()
        for column, count in sorted(report.stale.items()):
            self.stdout.write(f"{column}: {count} under an old key")
        self.stdout.write(f"{sum(report.stale.values())} values under an old key."
                          f"{self._read(report, started)}")
        self._problems(report)

    @staticmethod
    def _read(report: rotation.Report, started: float) -> str:
        return f" {report.values_read:,} values read in {time.monotonic() - started:.1f} s."

    def _problems(self, report: rotation.Report) -> None:
        for location in report.unreadable:
            marked = (" — install marked Reauthentication required"
                      if location in report.reauth_marked else "")
            self.stderr.write(f"Unreadable (no configured key decrypts it): {location}{marked}")
        for location in report.busy:
            self.stderr.write(f"Not rotated, rewritten too often meanwhile (run again): {location}")
        if report.unreadable:
            self.stderr.write(f"{len(report.unreadable)} unreadable values left unchanged.")
