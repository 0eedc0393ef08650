"""Single sign-on's pages: the admin's "Single sign-on" settings, the login page's "Sign in
with SSO", and the callback the identity provider sends the user back to."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters

from accounts.access import SSO_PARTNER_KEY, PartnerRequest, admin_view
from accounts.models import User
from audit.logins import client_address
from core import throttle
from sso import oidc
from sso.forms import SettingsForm, StartForm
from teams import members, two_factor
from teams import single_sign_on as rules
from teams.models import SingleSignOn
from teams.security_views import BACKEND, start_second_step

security_log = logging.getLogger("hatchway.security")
PENDING_KEY = "sso_pending"


@admin_view
@sensitive_post_parameters("client_secret")
def settings_page(request: PartnerRequest) -> HttpResponse:
    """"Single sign-on": saving with sign-in allowed finds the issuer's endpoints first
    (discovery, which also tests the connection); a provider that cannot be found or does
    not name itself saves nothing. Turning sign-in off needs no discovery, so a broken
    provider can always be turned off."""
    sso = SingleSignOn.objects.filter(partner=request.partner).first() or SingleSignOn(
        partner=request.partner)
    form = SettingsForm(request.POST or None, instance=sso)
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["enabled"]:
                form.instance.provider = oidc.discover(form.cleaned_data["issuer"])
        except oidc.ProviderError as exc:
            form.add_error("issuer", str(exc))
        else:
            form.apply_secret()
            try:
                rules.save_settings(form.instance, domains=form.cleaned_data["allowed_domains"],
                                    changed=form.changed_fields(), by=request.user)
            except rules.DomainTaken as exc:
                form.add_error("allowed_domains", str(exc))
            else:
                messages.success(request, "Single sign-on settings saved.")
                return redirect("sso:settings")
    return render(request, "sso/settings.html", {
        "nav": "sso", "form": form, "sso": sso, "callback_url": oidc.callback_url(),
    }, status=400 if form.is_bound else 200)


def start(request: HttpRequest) -> HttpResponse:
    """"Sign in with SSO": the email's domain finds the partner, whose identity provider
    the browser is sent to."""
    form = StartForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if form.is_valid():
        sso = rules.for_email(form.cleaned_data["email"])
        refusal = _throttled(request, form.cleaned_data["email"], sso)
        if refusal is not None:
            return refusal
        if sso is None:
            form.add_error("email", "Single sign-on is not set up for this email's domain. "
                                    "Log in with your password.")
        else:
            url, pending = oidc.begin(sso, next_url=next_url)
            request.session[PENDING_KEY] = pending
            return redirect(url)
    return render(request, "sso/start.html", {"form": form, "next": next_url},
                  status=400 if form.is_bound else 200)


def _throttled(request: HttpRequest, email: str, sso: SingleSignOn | None) -> HttpResponse | None:
    """Starts are counted per client address and per email domain, each in a window of
    SSO_START_WINDOW seconds; past SSO_START_LIMIT (address) or SSO_START_DOMAIN_LIMIT
    (domain) the answer is a 429. The first refusal of a window is audited at the partner
    whose domain it is."""
    window: int = settings.SSO_START_WINDOW
    address = throttle.hit(f"sso-start:ip:{client_address(request)}",
                           limit=settings.SSO_START_LIMIT, window=window)
    if address.over:
        reason = "throttled_address"
        message = "Too many sign-ins with SSO were started from your network."
        count = address
    else:
        count = throttle.hit(f"sso-start:domain:{rules.email_domain(email)}",
                             limit=settings.SSO_START_DOMAIN_LIMIT, window=window)
        reason = "throttled_domain"
        message = "Too many sign-ins with SSO were started for this email domain."
        if not count.over:
            return None
    security_log.warning("sso start throttled: %s", reason)
    if sso is not None and count.just_over:
        rules.record_refusal(sso, reason)
    minutes = max(1, window // 60)
    page = _refused(request, f"{message} Try again in {minutes} minutes.", status=429)
    page["Retry-After"] = str(window)
    return page


def callback(request: HttpRequest) -> HttpResponse:
    """The identity provider's answer. The pending sign-in is used up at once, so an
    answer (or an ID token) cannot be brought back a second time."""
    pending: dict[str, Any] | None = request.session.pop(PENDING_KEY, None)
    if not pending:
        return _refused(request, "No sign-in with SSO is in progress in this browser. Start "
                                 "again from the login page.", status=400)
    sso = SingleSignOn.objects.select_related("partner").filter(pk=pending["sso"]).first()
    if sso is None:
        return _refused(request, "Single sign-on is no longer set up.", status=400)
    answer = oidc.Callback(state=request.GET.get("state", ""), code=request.GET.get("code", ""),
                           error=request.GET.get("error", ""), iss=request.GET.get("iss", ""))
    try:
        identity = oidc.finish(sso, pending, answer)
        user, membership = rules.sign_in(sso, identity)
    except rules.SignInRefused as refusal:
        security_log.warning("sso sign-in refused at partner %s: %s", sso.partner_id,
                             refusal.reason)
        rules.record_refusal(sso, refusal.reason)
        return _refused(request, str(refusal), status=403)
    except oidc.ProviderError as exc:
        security_log.warning("sso provider error at partner %s: %s", sso.partner_id, exc)
        rules.record_refusal(sso, "provider_error")
        return _refused(request, str(exc), status=502)
    members.switch_partner(user=user, membership=membership)
    return _signed_in(request, user, sso, pending.get("next", ""))


def _signed_in(request: HttpRequest, user: User, sso: SingleSignOn, next_url: str) -> HttpResponse:
    """The identity provider vouched for the user: a user with a second factor still gives
    it (the provider's own factors are not visible here), then the session is theirs, in
    this partner only."""
    request.session[SSO_PARTNER_KEY] = sso.partner_id
    safe = next_url if url_has_allowed_host_and_scheme(
        next_url, {request.get_host()}, request.is_secure()) else ""
    if two_factor.is_on(user):
        return start_second_step(request, user, safe)
    login(request, user, backend=BACKEND)
    request.session[SSO_PARTNER_KEY] = sso.partner_id
    members.after_login(request, user)
    messages.success(request, f"Signed in to {sso.partner.name} with single sign-on.")
    return redirect(safe or reverse("connectors:library"))


def _refused(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "sso/refused.html", {"message": message}, status=status)
