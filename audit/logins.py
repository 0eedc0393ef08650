"""Login throttling (django-axes): who a failure is counted against, what is logged and
audited, and the 429 page. Configured in config/settings.py (`AXES_*`).

Failures count against the email and against the client address, each on its own; an
unknown email counts exactly like a known one and the lockout page is the same for
both, so no answer tells whether an account exists. Every failure is a security log
event; when the email belongs to a partner's member it is also an audit event of that
partner (failures for unknown emails, or staff without a partner, are in the security
log only: there is no partner whose audit log they would belong in).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Membership
from audit import events as audit

security_log = logging.getLogger("hatchway.security")

#: The actor label of failed logins (whoever typed the password is not known).
LOGIN_ACTOR = "login attempt"


def login_email(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """The email a login counts against: trimmed and lower-case, as accounts store it, so
    'ALICE@acme.test' on the admin's login cannot escape the count for alice@acme.test."""
    raw = (credentials or {}).get("username") if credentials else request.POST.get("username")
    return raw.strip().lower()[:254] if isinstance(raw, str) else None


def client_address(request: HttpRequest) -> str | None:
    """The socket's address; behind the proxy (BEHIND_PROXY) the one it appended to
    X-Forwarded-For, the only entry a client cannot write."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.BEHIND_PROXY:
        address = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip() or address
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class LoginFailureHandler(AxesDatabaseHandler):
    """axes' database handler; each failure also goes to the security and audit logs."""

    def user_login_failed(self, sender: Any, credentials: dict[str, Any],
                          request: HttpRequest | None = None, **kwargs: Any) -> None:
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is not None:
            record_failure(request, credentials)


def record_failure(request: HttpRequest, credentials: dict[str, Any]) -> None:
    """Log (and audit, where a partner is known) one failed login, and a lockout it starts."""
    email = login_email(request, credentials) or ""
    failures = getattr(request, "axes_failures_since_start", 0)
    locked = bool(getattr(request, "axes_locked_out", False))
    facts = {"email": email, "ip_address": request.axes_ip_address,  # type: ignore[attr-defined]
             "page": "admin" if request.path.startswith("/admin/") else "console"}
    security_log.warning("login failed: %(email)r from %(ip_address)s on the %(page)s login",
                         facts)
    starts_lockout = locked and failures == settings.AXES_FAILURE_LIMIT
    if starts_lockout:
        security_log.warning("login locked out: %(email)r from %(ip_address)s", facts)
    # A member of several partners: each of them sees the failure in its audit log.
    for partner_id in Membership.objects.filter(user__email=email).values_list("partner_id",
                                                                               flat=True):
        audit.record(audit.Action.LOGIN_FAILED, partner=partner_id, actor_label=LOGIN_ACTOR,
                     locked_out=locked, **facts)
        if starts_lockout:
            audit.record(audit.Action.LOGIN_LOCKED_OUT, partner=partner_id,
                         actor_label=LOGIN_ACTOR, **facts)


def locked_out(request: HttpRequest, response: HttpResponse | None = None,
               credentials: dict[str, Any] | None = None) -> HttpResponse:
    """The 429 page of a locked-out login: the same for every email, known or not."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    page = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    page["Retry-After"] = str(minutes * 60)
    return page
