"""Import existing connections from a JSON-lines file (installs/import_file.py).

    python manage.py import_installs FILE --partner <slug> [--no-verify]

FILE is a path, or `-` for standard input. Progress every 100 lines, then a summary; each
bad line is reported with its number and reason, and the exit status is 1 if any failed.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Partner
from installs.import_file import FAILED, FileImport, LineError, read_lines

PROGRESS_EVERY = 100


class Command(BaseCommand):
    help = "Import existing connections (credentials from another platform) as installs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="JSON lines, one connection a line ('-': stdin).")
        parser.add_argument("--partner", required=True, help="The partner's slug.")
        parser.add_argument("--no-verify", action="store_true",
                            help="Skip the connectors' verify requests (expired tokens are "
                                 "still refreshed).")

    def handle(self, *args: Any, **options: Any) -> None:
        partner = Partner.objects.filter(slug=options["partner"]).first()
        if partner is None:
            raise CommandError(f"No partner with the slug {options['partner']!r}.")
        run = FileImport(partner=partner, verify=not options["no_verify"])
        if options["file"] == "-":
            self._run(run, sys.stdin)
        else:
            try:
                with open(options["file"], encoding="utf-8") as stream:
                    self._run(run, stream)
            except OSError as error:
                raise CommandError(f"Cannot read {options['file']}: {error.strerror}.") from None
            except UnicodeDecodeError:
                raise CommandError(f"{options['file']} is not UTF-8 text; stopped there "
                                   f"({self._counts(run)}).") from None
        self.stdout.write(f"Done: {self._counts(run)}.")
        if run.counts[FAILED]:
            raise CommandError(f"{run.counts[FAILED]} line(s) failed; see above.")

    def _run(self, run: FileImport, stream: IO[str]) -> None:
        read = 0
        for number, text in read_lines(stream):
            try:
                run.line(text)
            except LineError as error:
                self.stderr.write(f"line {number}: {error}")
            read += 1
            if read % PROGRESS_EVERY == 0:
                self.stdout.write(f"{read} lines: {self._counts(run)}")

    @staticmethod
    def _counts(run: FileImport) -> str:
        return ", ".join(f"{run.counts[k]} {k}"
                         for k in ("created", "updated", "unchanged", FAILED))
