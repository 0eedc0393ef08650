"""Prometheus metrics: Hatchway's own counters, and `/metrics` to scrape them.

Requests and database queries are counted by django-prometheus (its middleware and
database backends, config/settings.py). Hatchway's own events are counted here, one
counter per vocabulary, by the code where they happen:

- `REFRESHES` (installs/refresh.py): every token refresh by its `RefreshOutcome`;
- `REVOCATIONS` (installs/revocation.py): revocation requests by stage and outcome --
  ``retry`` for pending revocations (`RetryOutcome`); ``first``, at deauthentication or
  deletion (`Revocation`), by `observe_first_revocation` (installs/removal.py, where the
  revocation returns);
- `LINK_OPENS`, `LINK_COMPLETIONS` (links/services.py);
- `API_REQUESTS`, `WEBHOOK_DELIVERIES`: the partner API's answers (api/views.py) and the
  webhook delivery attempts (webhooks/delivery.py), `observe_api_request` and
  `observe_webhook_delivery`.

Gauges that describe the database (installs by status, due work) are computed when
Prometheus scrapes, by the collectors named in `METRICS_COLLECTORS` (installs/metrics.py;
core imports none of them), one GROUP BY or COUNT each. Those read whole tables (a
million installs: tens of ms a scrape, growing with the rows), so what they computed is
kept in the default cache for `METRICS_GAUGES_TTL` seconds (`CachedGauges`): scrapes within
that time run no query, and a gauge is at most that old. 0 computes them at every scrape.

Several processes: with `PROMETHEUS_MULTIPROC_DIR` set (before the process starts),
prometheus_client keeps every process's counters in files in that directory and
`/metrics` sums them, so any gunicorn worker -- and `refresh_tokens` workers on the same
machine sharing the directory -- answers for all (config/gunicorn.conf.py marks exited
workers dead). Without it each process reports its own.

Access: `Authorization: Bearer <METRICS_TOKEN>`, or a direct request (no
`X-Forwarded-For`/`Forwarded`: nothing relayed by a proxy) from `METRICS_ALLOWED_IPS`.
No credentials → 401; a wrong token → 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric

REFRESHES = Counter("hatchway_token_refreshes", "Token refreshes, by outcome.", ["outcome"])
REVOCATIONS = Counter(
    "hatchway_revocations",
    "Revocation requests, by stage (first: at deauthentication or deletion; retry: a "
    "pending revocation) and outcome.", ["stage", "outcome"])
LINK_OPENS = Counter("hatchway_install_link_opens",
                     "Install links opened (the first opening in each browser session).")
LINK_COMPLETIONS = Counter("hatchway_install_link_completions",
                           "Installs finished through an install link, by outcome.",
                           ["outcome"])
API_REQUESTS = Counter("hatchway_api_requests",
                       "Partner API requests, by endpoint (URL name) and status code.",
                       ["endpoint", "status"])
WEBHOOK_DELIVERIES = Counter("hatchway_webhook_deliveries",
                             "Webhook delivery attempts, by outcome.", ["outcome"])


def observe_first_revocation(outcome: str) -> None:
    """The revocation at deauthentication or deletion (installs/removal.py)."""
    REVOCATIONS.labels("first", str(outcome)).inc()


def observe_api_request(endpoint: str, status: int) -> None:
    """Hook for the partner API: call once per response with its URL name and status."""
    API_REQUESTS.labels(endpoint, str(status)).inc()


def observe_webhook_delivery(outcome: str) -> None:
    """Hook for the webhook workers: call once per delivery attempt."""
    WEBHOOK_DELIVERIES.labels(str(outcome)).inc()


# --- /metrics --------------------------------------------------------------------------


class _ThisProcess:
    """The default registry's metrics, when each process reports its own."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


GAUGES_KEY = "metrics:gauges:"


class CachedGauges:
    """A `METRICS_COLLECTORS` collector whose metric families are reused for
    `METRICS_GAUGES_TTL` seconds (in the default cache: shared by the processes that
    share it)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def collect(self) -> Iterable[Metric]:
        ttl = settings.METRICS_GAUGES_TTL
        families: list[Metric] | None = cache.get(GAUGES_KEY + self.path) if ttl else None
        if families is None:
            families = list(import_string(self.path)().collect())
            if ttl:
                cache.set(GAUGES_KEY + self.path, families, ttl)
        return families


def forget_gauges() -> None:
    """Drop the cached gauges: the next scrape computes them."""
    cache.delete_many([GAUGES_KEY + path for path in settings.METRICS_COLLECTORS])


def scrape_registry() -> CollectorRegistry:
    """What one scrape reports: every process's counters (or this one's) and the gauges
    the apps compute now."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    for path in settings.METRICS_COLLECTORS:
        registry.register(CachedGauges(path))
    return registry


@lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in allowed]


def _from_allowed_address(request: HttpRequest) -> bool:
    """A direct request from an allowed network. Behind a reverse proxy every request
    comes from the proxy's address: the proxy's forwarding headers mark those, and they
    never pass on the address alone."""
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in net for net in _networks(tuple(settings.METRICS_ALLOWED_IPS)))


def _refusal(request: HttpRequest) -> HttpResponse | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, presented = header.partition(" ")
        token = settings.METRICS_TOKEN
        if token and scheme.lower() == "bearer" and hmac.compare_digest(
                presented.strip().encode(), token.encode()):
            return None
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    if _from_allowed_address(request):
        return None
    response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
    response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """`/metrics` in Prometheus's text format, for a token holder or an allowed address."""
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)

