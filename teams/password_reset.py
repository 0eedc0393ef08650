"""Password reset by email ("Forgot password?" on the login page): Django's views and
token generator, throttled, audited.

- The answer is the same page for known and unknown emails (Django's form sends only to
  active users with a usable password, and says nothing either way).
- Throttled per client address (429 past PASSWORD_RESET_LIMIT requests an hour, counted
  alike for every email) and per email (past the limit no further email is sent, and the
  page is the same).
- The token is single use: it is derived from the password hash and the last login, so it
  stops working once the password changed. Changing the password also changes the
  session auth hash, so every other session of the user ends.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from accounts.models import User
from audit import events as audit
from audit.logins import client_address
from core import throttle
from teams import sessions

WINDOW_SECONDS = 3600


def _over_limit(key: str) -> bool:
    """Count one request against `key`; True once past the limit."""
    limit: int = settings.PASSWORD_RESET_LIMIT
    return throttle.hit(f"password-reset:{key}", limit=limit, window=WINDOW_SECONDS).over


class ResetRequestView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")
    # The link is built from PUBLIC_URL, never from the request's Host header (which an
    # attacker asking for somebody's reset could set to their own site).
    extra_email_context = {"public_url": settings.PUBLIC_URL}

    def post(self, request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        if _over_limit(f"ip:{client_address(request)}"):
            page = render(request, "registration/password_reset_throttled.html", status=429)
            page["Retry-After"] = str(WINDOW_SECONDS)
            return page
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        email = form.cleaned_data["email"].strip().lower()
        if _over_limit(f"email:{email}"):
            return super(auth_views.PasswordResetView, self).form_valid(form)  # no email sent
        return super().form_valid(form)


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        user: User = form.user
        sessions.end_all(type(self.request.session), user)  # ended already: off the list
        for partner_id in user.memberships.values_list("partner_id", flat=True):
            audit.record(audit.Action.PASSWORD_RESET, partner=partner_id, actor=user)
        return response


class ResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class ResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"
