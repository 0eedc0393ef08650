"""The Security page (two-factor authentication for each user), the login's second step
("Authentication code"), and the partner's "Require two-factor authentication"."""

from __future__ import annotations

import json
import time
from typing import Any

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, user_login_failed
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.access import (
    SECOND_FACTOR_KEY,
    SSO_PARTNER_KEY,
    PartnerRequest,
    admin_view,
    security_log,
)
from accounts.models import User
from audit import events as audit
from audit.logins import client_address, locked_out
from core import throttle
from core.forms import ConsoleForm
from teams import members, passkeys, sessions, single_sign_on, two_factor
from teams.models import ConsoleSession, Passkey

PENDING_KEY = "teams_pending_login"
PENDING_SECONDS = 300
BACKEND = "accounts.backends.MemberBackend"


class CodeForm(ConsoleForm):
    code = forms.CharField(label="Authentication code", max_length=20, strip=True,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code",
                                                         "inputmode": "numeric",
                                                         "autofocus": True}))


def start_second_step(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    """After the password: remember who is half logged in (not logged in yet) and ask
    for the authentication code."""
    request.session.cycle_key()
    request.session[PENDING_KEY] = {"user": user.pk, "at": time.time(), "next": next_url}
    return redirect("login_code")


def _pending_user(request: HttpRequest) -> tuple[User | None, str]:
    pending = request.session.get(PENDING_KEY) or {}
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        return None, ""
    return User.objects.filter(pk=pending["user"], is_active=True).first(), pending["next"]


@sensitive_post_parameters("code")
def login_code(request: HttpRequest) -> HttpResponse:
    user, next_url = _pending_user(request)
    if user is None:
        messages.error(request, "Log in again: the sign-in took too long.")
        return redirect("login")
    credentials = {"username": user.email}
    if AxesProxyHandler.is_locked(request, credentials):
        return locked_out(request)
    form = CodeForm(request.POST or None)
    if form.is_valid():
        if two_factor.verify(user=user, code=form.cleaned_data["code"]):
            return redirect(_finish_login(request, user, next_url))
        if _count_failure(request, credentials):
            return locked_out(request)
        form.add_error("code", "That code is not right, or was already used.")
    return render(request, "teams/login_code.html",
                  {"form": form, "has_app": two_factor.has_app(user),
                   "has_passkey": user.passkeys.exists()},
                  status=400 if form.is_bound else 200)


def _finish_login(request: HttpRequest, user: User, next_url: str) -> str:
    """The second factor passed: log in (a new session key) and say where to go."""
    del request.session[PENDING_KEY]
    login(request, user, backend=BACKEND)
    request.session[SECOND_FACTOR_KEY] = True
    members.after_login(request, user)
    safe = url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure())
    return next_url if next_url and safe else reverse("connectors:library")


def _count_failure(request: HttpRequest, credentials: dict[str, str]) -> bool:
    """A wrong second factor, counted by the login throttling (axes) and audited like a
    wrong password; True once it locks the login."""
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    return bool(getattr(request, "axes_locked_out", False))


@require_POST
def login_passkey_begin(request: HttpRequest) -> HttpResponse:
    user, _ = _pending_user(request)
    if user is None or not user.passkeys.exists():
        return JsonResponse({"error": "Log in again."}, status=400)
    return JsonResponse(passkeys.authenticate_begin(request.session, user))


@require_POST
def login_passkey_complete(request: HttpRequest) -> HttpResponse:
    user, next_url = _pending_user(request)
    if user is None:
        return JsonResponse({"error": "Log in again."}, status=400)
    credentials = {"username": user.email}
    if AxesProxyHandler.is_locked(request, credentials):
        return locked_out(request)
    try:
        passkeys.authenticate_complete(request.session, user, json.loads(request.body))
    except (ValueError, KeyError, TypeError):
        if _count_failure(request, credentials):
            return locked_out(request)
        return JsonResponse({"error": "The passkey was not accepted."}, status=400)
    return JsonResponse({"redirect": _finish_login(request, user, next_url)})


@require_POST
def sign_in_passkey_begin(request: HttpRequest) -> HttpResponse:
    """"Sign in with a passkey": a discoverable-credential challenge (single use, short).
    Each one writes a session, so starts are counted per client address."""
    window: int = settings.PASSKEY_SIGN_IN_WINDOW
    if throttle.hit(f"passkey-sign-in:ip:{client_address(request)}",
                    limit=settings.PASSKEY_SIGN_IN_LIMIT, window=window).over:
        security_log.warning("passkey sign-in throttled: address")
        return _passkey_paused("Too many passkey sign-ins were started from your network.",
                               minutes=max(1, window // 60), retry_after=window)
    return JsonResponse(passkeys.sign_in_begin(request.session, request.GET.get("next", "")))


@require_POST
def sign_in_passkey_complete(request: HttpRequest) -> HttpResponse:
    """The passkey is both factors: no authentication code after it. Refused like a password
    would be for a locked-out login or an inactive user (counted as a failed login), and
    for a member of a partner that requires SSO."""
    try:
        passkey, next_url = passkeys.sign_in_complete(request.session, json.loads(request.body))
        user: User | None = passkey.user
    except passkeys.PasskeyRefused as exc:
        security_log.info("passkey sign-in refused: %s", exc)
        return _passkey_failure(request, exc.user)
    except (ValueError, KeyError, TypeError):
        return _passkey_failure(request, None)
    assert user is not None
    if AxesProxyHandler.is_locked(request, {"username": user.email}):
        return _passkey_locked_out()
    if not user.is_active:
        security_log.info("passkey sign-in refused: user %s is inactive", user.pk)
        return _passkey_failure(request, user)
    refusing = single_sign_on.password_refused(user)
    if refusing is not None:
        audit.record(audit.Action.PASSKEY_SSO_REFUSED, partner=refusing, actor=user)
        return JsonResponse({"error": f"{refusing.name} requires single sign-on: use Sign in "
                                      "with SSO."}, status=403)
    request.session.pop(SSO_PARTNER_KEY, None)
    login(request, user, backend=BACKEND)
    request.session[SECOND_FACTOR_KEY] = True
    members.after_login(request, user)
    for partner_id in user.memberships.values_list("partner_id", flat=True):
        audit.record(audit.Action.PASSKEY_LOGIN, partner=partner_id, actor=user,
                     passkey=passkey.name)
    safe = url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure())
    return JsonResponse({"redirect": next_url if next_url and safe
                         else reverse("connectors:library")})


def _passkey_failure(request: HttpRequest, user: User | None) -> HttpResponse:
    """A failed passkey sign-in, counted by the login throttling against the client address
    and, when the credential is known, its user's email (the same answer either way)."""
    if _count_failure(request, {"username": user.email} if user is not None else {}):
        return _passkey_locked_out()
    return JsonResponse({"error": "The passkey was not accepted."}, status=400)


def _passkey_locked_out() -> HttpResponse:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return _passkey_paused("Logging in is paused after too many failed attempts.",
                           minutes=minutes, retry_after=minutes * 60)


def _passkey_paused(reason: str, *, minutes: int, retry_after: int) -> HttpResponse:
    """A 429 for the passkey sign-in's script: the reason, when to try again, Retry-After."""
    response = JsonResponse({"error": f"{reason} Try again in {minutes} minutes."}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


@require_POST
@login_required
def passkey_register_begin(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    return JsonResponse(passkeys.register_begin(request.session, user))


@require_POST
@login_required
def passkey_register_complete(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    try:
        passkeys.register_complete(request.session, user, json.loads(request.body))
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "The passkey could not be added."}, status=400)
    request.session[SECOND_FACTOR_KEY] = True
    messages.success(request, "Passkey added.")
    return JsonResponse({"redirect": reverse("teams:security")})


@require_POST
@login_required
def passkey_remove(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Passkey, pk=pk, user=request.user.pk).delete()
    messages.success(request, "Passkey removed.")
    return redirect("teams:security")


@login_required
def security(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    context: dict[str, Any] = {"nav": "security", "is_on": two_factor.has_app(user),
                               "passkeys": user.passkeys.all(),
                               "form": CodeForm(), "sessions": sessions.active(user),
                               "this_session": request.session.session_key}
    if not context["is_on"]:
        device = two_factor.pending_device(user)
        image = qrcode.make(two_factor.setup_uri(device),
                            image_factory=qrcode.image.svg.SvgPathImage)
        context.update(qr_svg=image.to_string(encoding="unicode"),
                       secret=two_factor.secret_text(device))
    return render(request, "teams/security.html", context)


@require_POST
@login_required
@sensitive_post_parameters("code")
def confirm_totp(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = CodeForm(request.POST)
    codes = two_factor.confirm(user=user, code=form.cleaned_data["code"]) if form.is_valid() \
        else None
    if codes is None:
        messages.error(request, "That code is not right. Check the time on your phone and "
                                "enter the code the app shows now.")
        return redirect("teams:security")
    request.session[SECOND_FACTOR_KEY] = True
    return render(request, "teams/recovery_codes.html", {"codes": codes, "nav": "security"})


@require_POST
@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    if not two_factor.is_on(user):
        return redirect("teams:security")
    codes = two_factor.new_recovery_codes(user=user)
    return render(request, "teams/recovery_codes.html", {"codes": codes, "nav": "security"})


@require_POST
@login_required
@sensitive_post_parameters("code")
def turn_off(request: HttpRequest) -> HttpResponse:
    """Turning it off asks for a current code (or a recovery code) first."""
    user = request.user
    assert isinstance(user, User)
    form = CodeForm(request.POST)
    if not form.is_valid() or not two_factor.verify(user=user, code=form.cleaned_data["code"]):
        messages.error(request, "That code is not right: two-factor authentication stays on.")
        return redirect("teams:security")
    two_factor.turn_off(user=user)
    request.session.pop(SECOND_FACTOR_KEY, None)
    messages.success(request, "Two-factor authentication is off.")
    return redirect("teams:security")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change the password on the Security page: this session stays, every other ends
    (their auth hash no longer matches) and leaves the list."""

    template_name = "teams/password_change.html"
    success_url = reverse_lazy("teams:security")

    def form_valid(self, form: Any) -> HttpResponse:
        old_key = self.request.session.session_key
        response = super().form_valid(form)  # keeps this session, under a new key
        ConsoleSession.objects.filter(session_key=old_key).update(
            session_key=self.request.session.session_key)
        sessions.end_all(type(self.request.session), form.user,
                         keep=self.request.session.session_key)
        messages.success(self.request, "Your password is changed; your other sessions ended.")
        return response


@require_POST
@login_required
def end_session(request: HttpRequest, pk: int) -> HttpResponse:
    """End one of the user's other sessions (another user's: 404)."""
    row = get_object_or_404(ConsoleSession, pk=pk, user=request.user.pk)
    sessions.end(type(request.session), [row])
    messages.success(request, "The session has ended.")
    return redirect("teams:security")


@require_POST
@login_required
def end_other_sessions(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    sessions.end_all(type(request.session), user, keep=request.session.session_key)
    messages.success(request, "Your other sessions have ended.")
    return redirect("teams:security")


@require_POST
@admin_view
def require_two_factor(request: PartnerRequest) -> HttpResponse:
    required = request.POST.get("require_two_factor") == "on"
    two_factor.set_required(partner=request.partner, required=required, by=request.user)
    messages.success(request, "Two-factor authentication is now required." if required else
                     "Two-factor authentication is no longer required.")
    return redirect("teams:members")



def recovery_sign_in(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The one-time recovery link (`manage.py sso_recovery_link`): a button to press (so a
    link previewer does not spend it), then the sign-in -- past "Require SSO", and then
    the user's second factor, if they have one, as after a password."""
    user = recovery_user(uidb64, token)
    if user is None:
        return render(request, "teams/invitation_refused.html", {
            "message": "This recovery link is not valid: it was used, has expired, or was "
                       "replaced. Ask the operator for a new one."}, status=410)
    if request.method != "POST":
        return render(request, "teams/recovery_sign_in.html", {"email": user.email})
    for partner_id in user.memberships.values_list("partner_id", flat=True):
        audit.record(audit.Action.RECOVERY_LINK_USED, partner=partner_id, actor=user)
    request.session.pop(SSO_PARTNER_KEY, None)
    if two_factor.is_on(user):
        return start_second_step(request, user, "")
    login(request, user, backend=BACKEND)  # updates last_login: the link is spent
    members.after_login(request, user)
    return redirect("connectors:library")


def recovery_user(uidb64: str, token: str) -> User | None:
    try:
        pk = urlsafe_base64_decode(uidb64).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first() if pk.isdigit() else None
    if user is None or not single_sign_on.recovery_tokens.check_token(user, token):
        return None
    return user
