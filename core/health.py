"""Health endpoints for load balancers and orchestrators: `/healthz/live` and `/healthz/ready`.

Both need no login, start no session, and answer JSON that says nothing beyond the state
of each check: no version, host name, setting, error text or migration name.

- `live` answers from memory -- no database query -- while the process serves.
- `ready` runs django-health-check's machinery (timeouts, one failing check never hiding
  the others) over three checks: the database answers, every migration is applied, and
  a background worker passed within `READY_WORKER_MAX_AGE` seconds -- asked only when
  work is due. What counts as due work is asked of the apps that own it, through the
  dotted paths in `READY_DUE_WORK` (core imports none of them): installs counts due
  refreshes and pending revocations (installs/health.py); webhook deliveries add their
  own function there when they land. The answer is kept `READY_CACHE_SECONDS` per
  process, so polling every second costs at most one round of queries per interval.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from health_check.base import HealthCheck, HealthCheckResult
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from core.heartbeat import seen_within

CACHE_KEY = "healthz:ready"


@never_cache
@require_safe
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


# --- readiness -------------------------------------------------------------------------


@dataclasses.dataclass
class _DatabaseProbe(HealthCheck):
    """A check that asks the database, in the request's own thread (its persistent
    connection, not a new one per probe); any database error reads "unavailable"."""

    name = ""
    timeout = timedelta(seconds=3)

    async def run(self) -> None:
        try:
            await sync_to_async(self.probe)()
        except DatabaseError:
            raise ServiceUnavailable("unavailable") from None

    def probe(self) -> None:
        raise NotImplementedError


class Database(_DatabaseProbe):
    name = "database"

    def probe(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")


class Migrations(_DatabaseProbe):
    name = "migrations"

    def probe(self) -> None:
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise ServiceUnavailable("not applied")


class Worker(_DatabaseProbe):
    """A worker passed recently -- or nothing is waiting for one (heartbeat asked first:
    one query when the workers are fine)."""

    name = "worker"

    def probe(self) -> None:
        if seen_within(timedelta(seconds=settings.READY_WORKER_MAX_AGE)):
            return
        if any(due() for due in due_work()):
            raise ServiceUnavailable("not seen while work is due")


WORKER_MISSING_KEY = "hatchway:worker-missing"
# The banner's answer is kept this long in each process: console pages then spend no query
# on it (a few once a minute), and a minute is small beside READY_WORKER_MAX_AGE.
WORKER_BANNER_SECONDS = 60


def worker_missing() -> bool:
    """For the console's banner: work is due and no worker passed within
    `READY_WORKER_MAX_AGE` (the readiness check's question, kept WORKER_BANNER_SECONDS)."""
    missing = cache.get(WORKER_MISSING_KEY)
    if missing is None:
        missing = (not seen_within(timedelta(seconds=settings.READY_WORKER_MAX_AGE))
                   and any(due() for due in due_work()))
        cache.set(WORKER_MISSING_KEY, missing, WORKER_BANNER_SECONDS)
    return bool(missing)


def due_work() -> list[Callable[[], bool]]:
    """The apps' "is anything due for a worker?" functions (`READY_DUE_WORK`)."""
    return [import_string(path) for path in settings.READY_DUE_WORK]


def _answer(results: list[HealthCheckResult]) -> tuple[int, dict[str, Any]]:
    checks = {getattr(r.check, "name", ""): r.error.message if r.error else "ok"
              for r in results}
    ok = all(r.error is None for r in results)
    return (200 if ok else 503), {"status": "ok" if ok else "unavailable", "checks": checks}


class Ready(HealthCheckView):
    """`/healthz/ready`: 200 when every check passes, else 503; always JSON."""

    checks = (Database, Migrations, Worker)
    http_method_names = ["get", "head"]

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        answer = await cache.aget(CACHE_KEY)
        if answer is None:
            with self.get_executor() as executor:
                results = await asyncio.gather(
                    *(check.get_result(executor) for check in self.get_checks()))
            answer = _answer(list(results))
            if settings.READY_CACHE_SECONDS:
                await cache.aset(CACHE_KEY, answer, settings.READY_CACHE_SECONDS)
        status, body = answer
        return JsonResponse(body, status=status)


ready = Ready.as_view()
