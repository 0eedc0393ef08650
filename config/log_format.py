"""Log formatters: text (the default) and one JSON object per line (`LOG_FORMAT=json`).

Both scrub what they write -- the message and any traceback -- with `config.log_scrub`,
after the scrub filter has already rewritten the record's message: a traceback or a
value formatted into an exception is text the filter never sees.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from config.log_scrub import scrub

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Copied onto records during a request by core.request_id.RequestContextFilter.
CONTEXT_FIELDS = ("request_id", "partner_id")


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, and request_id / partner_id / exception when known."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        entry.update({key: getattr(record, key) for key in CONTEXT_FIELDS
                      if getattr(record, key, None) is not None})
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        # json.dumps escapes newlines and control characters: one record, one line.
        return json.dumps(entry, default=str)
