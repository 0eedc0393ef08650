"""The user's console sessions (Security page): recorded at login, seen at most every
SEEN_EVERY seconds, ended one by one or all at once (every session of a removed member,
or after a password reset)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.models import User
from audit.logins import client_address
from teams.models import ConsoleSession

SEEN_EVERY = 300
SEEN_KEY = "teams_seen_at"


def record(request: HttpRequest, user: User) -> None:
    """The session a login just made (its key was cycled by `login`)."""
    key = request.session.session_key
    if key is None:
        request.session.save()
        key = request.session.session_key
    ConsoleSession.objects.update_or_create(session_key=key, defaults={
        "user": user, "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
        "ip_address": client_address(request), "last_seen_at": timezone.now()})
    request.session[SEEN_KEY] = time.time()


def active(user: User) -> list[ConsoleSession]:
    """The user's sessions still in the store and unexpired."""
    rows = list(ConsoleSession.objects.filter(user=user))
    live = set(Session.objects.filter(session_key__in=[r.session_key for r in rows],
                                      expire_date__gt=timezone.now())
               .values_list("session_key", flat=True))
    return [row for row in rows if row.session_key in live]


def end(store: type[SessionBase], rows: list[ConsoleSession]) -> None:
    for row in rows:
        store(session_key=row.session_key).delete()
    ConsoleSession.objects.filter(pk__in=[row.pk for row in rows]).delete()


def end_all(store: type[SessionBase], user: User, *, keep: str | None = None) -> None:
    end(store, list(ConsoleSession.objects.filter(user=user).exclude(session_key=keep or "")))


class LastSeenMiddleware:
    """Updates the session's "last seen" at most every SEEN_EVERY seconds."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            seen = request.session.get(SEEN_KEY)
            if seen is not None and time.time() - seen > SEEN_EVERY:
                request.session[SEEN_KEY] = time.time()
                ConsoleSession.objects.filter(session_key=request.session.session_key).update(
                    last_seen_at=timezone.now())
        return response
