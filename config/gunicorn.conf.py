"""gunicorn settings for production; every value can be overridden from the environment."""

from __future__ import annotations

import gc
import multiprocessing
import os
from typing import TYPE_CHECKING, Any, cast

from gunicorn.glogging import Logger
from prometheus_client import multiprocess

from config.log_format import JsonFormatter
from config.log_scrub import escape_controls, scrub

if TYPE_CHECKING:
    from collections.abc import MutableMapping
    from datetime import timedelta

    from gunicorn.config import Config
    from gunicorn.glogging import _AtomsDict
    from gunicorn.http import Request
    from gunicorn.http.wsgi import Response

# Loopback unless told otherwise: the reverse proxy in front (TLS, body limits) is the
# only client; GUNICORN_BIND=0.0.0.0:8000 when the proxy runs on another machine.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
# Query strings on the callback carry authorization codes: the access log has the path
# only (%(U)s), and install-link tokens in paths are scrubbed by the logger below. The last
# field is the response's X-Request-ID (core/request_id.py), as in the application's lines.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss %({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


class ScrubbingLogger(Logger):
    """gunicorn's access log, with tokens in request paths redacted and control characters
    escaped (%(U)s is the decoded path: a %0A in it would write a second, forged line);
    JSON with LOG_FORMAT=json."""

    def setup(self, cfg: Config) -> None:
        super().setup(cfg)
        if os.environ.get("LOG_FORMAT") == "json":  # one JSON object per line, as Django's
            for handler in (*self.error_log.handlers, *self.access_log.handlers):
                handler.setFormatter(JsonFormatter())

    def atoms(self, resp: Response, req: Request, environ: MutableMapping[str, Any],
              request_time: timedelta) -> _AtomsDict:
        atoms = super().atoms(resp, req, environ, request_time)
        # The same keys, each string value scrubbed: still the atoms gunicorn expects.
        return cast("_AtomsDict", {k: escape_controls(scrub(v)) if isinstance(v, str) else v
                                   for k, v in atoms.items()})


logger_class = ScrubbingLogger


def post_worker_init(worker: Any) -> None:
    """The worker has loaded Django: load its URLs too (the first request would), then take
    everything loaded so far out of the garbage collector's full passes (`gc.freeze`). Those
    objects live as long as the worker; scanning them in every full collection cost an API
    request 2-4 % of its instructions (docs/benchmarks.md, "Hot paths near their floor")."""
    from django.urls import Resolver404, resolve

    try:
        resolve("/")
    except Resolver404:  # the URLs are loaded all the same
        pass
    gc.freeze()


# /metrics across workers (core/metrics.py): with PROMETHEUS_MULTIPROC_DIR set in the
# environment of gunicorn (and of any refresh_tokens worker on this machine), every
# process writes its counters to files there and each scrape sums them. A worker that
# exits is marked dead so its live gauges stop counting (its counters stay in the sums,
# as counters should).
def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
