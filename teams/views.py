"""Console pages of teams: Members, invitations and their acceptance, the partner switcher,
and the login that remembers which partners the user may switch to."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.access import SSO_PARTNER_KEY, PartnerRequest, admin_view, get_scoped, partner_view
from accounts.forms import LoginForm
from accounts.models import Membership, User
from audit import events as audit
from core.confirm import Confirmation, confirm_page
from teams import members, sessions, single_sign_on, two_factor
from teams.emails import send_invitation
from teams.forms import ExistingUserForm, InviteForm, NewMemberForm, RoleForm
from teams.models import Invitation, InvitationRefused, SingleSignOn
from teams.security_views import start_second_step

BACKEND = "accounts.backends.MemberBackend"


def sso_offered() -> bool:
    """Whether the login page offers "Sign in with SSO" (some partner has it on)."""
    return SingleSignOn.objects.filter(enabled=True).exists()


class ConsoleLoginView(auth_views.LoginView):
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "sso_offered": sso_offered()}

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        refusing = single_sign_on.password_refused(user)
        if refusing is not None:  # "Require SSO": the password was right, and is not enough
            audit.record(audit.Action.SSO_PASSWORD_REFUSED, partner=refusing, actor=user)
            form.add_error(None, f"{refusing.name} requires single sign-on: use Sign in with "
                                 "SSO.")
            return self.form_invalid(form)
        self.request.session.pop(SSO_PARTNER_KEY, None)
        if two_factor.is_on(user):  # not logged in yet: the authentication code first
            return start_second_step(self.request, user, self.get_success_url())
        response = super().form_valid(form)
        members.after_login(self.request, user)
        return response


@partner_view
def member_list(request: PartnerRequest, form: InviteForm | None = None) -> HttpResponse:
    partner = request.partner
    memberships = (Membership.objects.filter(partner=partner).select_related("user")
                   .annotate(two_factor=two_factor.is_on_for_member())
                   .order_by("user__email"))
    invitations = [i for i in Invitation.objects.filter(partner=partner, accepted_at=None,
                                                        revoked_at=None)]
    return render(request, "teams/members.html", {
        "nav": "members", "memberships": memberships, "invitations": invitations,
        "form": form or InviteForm(partner=partner), "roles": Membership.Role.choices,
    }, status=400 if form is not None else 200)


@require_POST
@admin_view
def invite(request: PartnerRequest) -> HttpResponse:
    form = InviteForm(request.POST, partner=request.partner)
    if not form.is_valid():
        return member_list(request, form=form)
    invitation, token = Invitation.issue(partner=request.partner, by=request.user,
                                         **form.cleaned_data)
    send_invitation(invitation, token, by=request.user)
    messages.success(request, f"Invitation sent to {invitation.email}.")
    return redirect("teams:members")


def _open_invitation(request: PartnerRequest, pk: int) -> Invitation:
    return get_scoped(Invitation.objects.filter(partner=request.partner).select_related("partner"),
                      request, pk=pk)


@require_POST
@admin_view
def resend(request: PartnerRequest, pk: int) -> HttpResponse:
    invitation = _open_invitation(request, pk)
    try:
        token = invitation.resend(by=request.user)
    except InvitationRefused as exc:
        messages.error(request, str(exc))
    else:
        send_invitation(invitation, token, by=request.user)
        messages.success(request, f"Invitation sent again to {invitation.email}.")
    return redirect("teams:members")


@require_POST
@admin_view
def revoke(request: PartnerRequest, pk: int) -> HttpResponse:
    invitation = _open_invitation(request, pk)
    try:
        invitation.revoke(by=request.user)
    except InvitationRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Invitation to {invitation.email} revoked.")
    return redirect("teams:members")


def _member(request: PartnerRequest, pk: int) -> Membership:
    return get_scoped(Membership.objects.filter(partner=request.partner).select_related("user"),
                      request, pk=pk)


@require_POST
@admin_view
def change_role(request: PartnerRequest, pk: int) -> HttpResponse:
    membership = _member(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Admin or Viewer.")
        return redirect("teams:members")
    try:
        members.change_role(membership=membership, role=form.cleaned_data["role"],
                            by=request.user)
    except members.LastAdmin as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{membership.user.email} is now "
                                  f"{Membership.Role(form.cleaned_data['role']).label}.")
    return redirect("teams:members")


@admin_view
def remove(request: PartnerRequest, pk: int) -> HttpResponse:
    """A confirmation page (GET), then the removal (POST)."""
    membership = _member(request, pk)
    if request.method != "POST":
        return confirm_page(request, Confirmation(
            title=f"Remove {membership.user.email}",
            consequence=f"{membership.user.email} loses access to {request.partner.name} at "
                        "once: their sessions end. To work here again they need a new "
                        "invitation.",
            button="Remove member", cancel_url=reverse("teams:members"),
            breadcrumbs=[("Members", reverse("teams:members"))], nav="members"))
    try:
        members.remove_member(membership=membership, by=request.user)
        sessions.end_all(type(request.session), membership.user)
    except members.LastAdmin as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{membership.user.email} was removed.")
    return redirect("teams:members")


@require_POST
@login_required
def switch_partner(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # login_required
    membership = get_object_or_404(Membership, user=user, pk=request.POST.get("membership", ""))
    sso_partner = request.session.get(SSO_PARTNER_KEY)
    if sso_partner is not None and membership.partner_id != sso_partner:
        messages.error(request, "This session signed in with single sign-on: log out and sign "
                                "in again to work in another partner.")
        return redirect("connectors:library")
    members.switch_partner(user=user, membership=membership)
    return redirect("connectors:library")


@sensitive_post_parameters("password", "password1", "password2")
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation link: join with a new account, or sign in as the invited email's user."""
    invitation = Invitation.find(token)
    if invitation is None:
        return _refused(request, "This invitation link is not valid.", status=404)
    refusal = invitation.refusal()
    if refusal:
        return _refused(request, refusal, status=410)
    existing = User.objects.filter(email__iexact=invitation.email).first()
    if request.user.is_authenticated and request.user != existing:
        return _refused(request, f"This invitation is for {invitation.email}. Log out, then "
                                 "open the link again.", status=403)
    if existing and not request.user.is_authenticated and two_factor.is_on(existing):
        # A password alone must not sign in a user who has a second factor: log in first.
        login_url = f"{reverse('login')}?{urlencode({'next': request.path})}"
        return render(request, "teams/accept.html", {"invitation": invitation,
                                                     "login_first": login_url})
    form = _acceptance_form(request, invitation, existing)
    if isinstance(form, ExistingUserForm) and existing and \
            single_sign_on.password_refused(existing):
        return _refused(request, "Your partner requires single sign-on: sign in with SSO, "
                                 "then open the link again.", status=403)
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            with transaction.atomic():  # a refused acceptance creates no account either
                user = _accepting_user(form, existing)
                membership = invitation.accept(user)
        except InvitationRefused as exc:
            return _refused(request, str(exc), status=410)
        if not request.user.is_authenticated:
            login(request, user, backend=BACKEND)
        members.switch_partner(user=user, membership=membership)
        members.after_login(request, user)
        messages.success(request, f"Welcome to {invitation.partner.name}.")
        return redirect("connectors:library")
    return render(request, "teams/accept.html", {"invitation": invitation, "form": form,
                                                 "existing": existing})


def _acceptance_form(request: HttpRequest, invitation: Invitation,
                     existing: User | None) -> NewMemberForm | ExistingUserForm | None:
    data = request.POST if request.method == "POST" else None
    if existing is None:
        return NewMemberForm(data, email=invitation.email)
    if request.user.is_authenticated:
        return None  # signed in as the invited user: a button is enough
    return ExistingUserForm(data, request=request, email=existing.email)


def _accepting_user(form: NewMemberForm | ExistingUserForm | None, existing: User | None) -> User:
    if isinstance(form, NewMemberForm):
        return form.create_user()
    if isinstance(form, ExistingUserForm) and form.user is not None:
        return form.user
    assert existing is not None  # signed in as the invited user (see _acceptance_form)
    return existing


def _refused(request: HttpRequest, message: str, *, status: int) -> HttpResponse:
    return render(request, "teams/invitation_refused.html", {"message": message}, status=status)
