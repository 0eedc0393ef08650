"""Background workers say they are alive: each pass calls `beat()`.

`/healthz/ready` (core/health.py) then asks `seen_within()` whether any worker passed
recently, when there is work for one. Every worker loop calls `beat` -- `refresh_tokens
--loop` and `manage.py worker` alike -- with its own `worker_name()`.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.utils import timezone

from core.models import WorkerHeartbeat

#: Heartbeats older than this many days are deleted by the next beat (old processes).
KEEP_DAYS = 7


def worker_name(kind: str) -> str:
    """`kind@host:pid`: one heartbeat row per worker process."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}"[:200]


def beat(name: str) -> None:
    """Record that the worker `name` is passing now (one upsert, on its own row)."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"seen_at": now})
    WorkerHeartbeat.objects.filter(seen_at__lt=now - timedelta(days=KEEP_DAYS)).delete()


def seen_within(window: timedelta) -> bool:
    """Whether any worker passed within `window` (one indexed query)."""
    return WorkerHeartbeat.objects.filter(seen_at__gte=timezone.now() - window).exists()
