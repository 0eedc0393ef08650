"""`/healthz/live`: the process is up and serving requests.

It answers from memory -- no login, no session, no database query -- so a load balancer
or an orchestrator can poll it every few seconds, and it says nothing beyond "ok": no
version, host name, setting or dependency state. (Whether the database and the workers
are fine is readiness, a separate question.)
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@never_cache
@require_safe
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
