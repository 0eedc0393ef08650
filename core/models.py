"""The one table of core: when each background worker was last seen (`core.heartbeat`)."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """A worker process's last pass: `/healthz/ready` asks whether any is recent.

    `name` is chosen by the worker (host name and process id): one row per process, each
    pass updating its own row, so workers never contend for one.
    """

    name = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
