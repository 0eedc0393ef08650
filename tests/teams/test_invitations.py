"""Invitations: sent by email, single use, seven days, stored as a hash, resent and revoked;
accepted with a name and password or by the existing user of that email."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, User
from audit.models import Action, AuditEvent
from core.tokens import hash_token
from teams.models import Invitation
from tests.factories import PASSWORD, client_for
from tests.teams.conftest import invite, last_link

NEW_PASSWORD = "violet-lantern-harbour-91"
LIBRARY = reverse("connectors:library")


def join(path: str, client: Client | None = None, **data: str):
    client = client or Client()
    return client, client.post(path, {"name": "Nina New", "password1": NEW_PASSWORD,
                                      "password2": NEW_PASSWORD, **data})


def test_invite_sends_a_branded_email_and_stores_only_the_hash(admin_client, alice, partner):
    """One email to the invitee in the partner's name with a link; the row keeps the hash."""
    response = invite(admin_client, "Nina@Acme.test", "admin")
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nina@acme.test"] and "Acme" in message.subject
    assert "Admin" in message.body and "7 days" in message.body
    _, token = last_link()
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hash_token(token) and token not in invitation.token_hash
    assert invitation.role == "admin" and invitation.invited_by == alice
    assert timedelta(days=6, hours=23) < invitation.expires_at - timezone.now() <= timedelta(days=7)
    event = AuditEvent.objects.get(action=Action.MEMBER_INVITED)
    assert event.detail == {"email": "nina@acme.test", "role": "admin"}


def test_pending_invitations_are_listed(admin_client, invited):
    """The Members page shows the open invitation with Resend and Revoke."""
    html = admin_client.get(reverse("teams:members")).content.decode()
    assert "Pending invitations" in html and "nina@acme.test" in html
    assert ">Resend</button>" in html and ">Revoke</button>" in html


def test_a_viewer_cannot_invite(viewer_client):
    """403, no invitation, no email."""
    response = invite(viewer_client, "nina@acme.test")
    assert response.status_code == 403
    assert not Invitation.objects.exists() and not mail.outbox


def test_inviting_a_member_or_an_invited_email_again_is_refused(admin_client, victor, invited):
    """Field errors; no second invitation or email."""
    sent = len(mail.outbox)
    assert "already a member" in invite(admin_client, "victor@acme.test").content.decode()
    assert "already has an open invitation" in invite(admin_client,
                                                      "nina@acme.test").content.decode()
    assert Invitation.objects.count() == 1 and len(mail.outbox) == sent


def test_accepting_asks_name_and_password_then_joins_and_logs_in(invited, partner):
    """A new person: account made, member with the invited role, logged in, link used."""
    invitation, path = invited
    page = Client().get(path).content.decode()
    assert "Join Acme Cloud" in page and 'name="password1"' in page and 'name="name"' in page
    client, response = join(path)
    assert response.status_code == 302 and response.url == LIBRARY
    user = User.objects.get(email="nina@acme.test")
    assert user.get_full_name() == "Nina New" and user.check_password(NEW_PASSWORD)
    assert Membership.objects.get(user=user, partner=partner).role == Membership.Role.VIEWER
    assert client.get(LIBRARY).status_code == 200
    invitation.refresh_from_db()
    assert invitation.accepted_by == user and invitation.state == "accepted"
    assert AuditEvent.objects.filter(action=Action.INVITATION_ACCEPTED, actor=user).exists()


def test_a_weak_password_is_refused_and_nothing_is_saved(invited):
    """Django's validators apply; no user, the invitation still open."""
    invitation, path = invited
    _, response = join(path, password1="password", password2="password")
    assert response.status_code == 200
    assert "This password is too common" in response.content.decode()
    assert not User.objects.filter(email="nina@acme.test").exists()
    invitation.refresh_from_db()
    assert invitation.is_pending


def test_a_used_link_is_refused(invited):
    """Single use: the second acceptance gets a clear page, no second account."""
    _, path = invited
    join(path)
    response = Client().get(path)
    assert response.status_code == 410
    assert "This invitation has already been used." in response.content.decode()
    _, response = join(path)
    assert response.status_code == 410 and User.objects.filter(email="nina@acme.test").count() == 1


def test_an_expired_link_is_refused(invited):
    """After seven days: a clear page, nothing created."""
    invitation, path = invited
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    _, response = join(path)
    assert response.status_code == 410 and "has expired" in response.content.decode()
    assert not User.objects.filter(email="nina@acme.test").exists()


def test_a_revoked_link_is_refused(admin_client, invited):
    """Revoked from the Members page: the link shows a clear page; audited."""
    invitation, path = invited
    admin_client.post(reverse("teams:revoke", args=[invitation.pk]))
    _, response = join(path)
    assert response.status_code == 410 and "has been revoked" in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.INVITATION_REVOKED).exists()


def test_an_unknown_or_tampered_link_is_refused(invited):
    """A token that is not ours: 404 with a clear page."""
    _, path = invited
    response = Client().get(path[:-3] + "xx/")
    assert response.status_code == 404 and "not valid" in response.content.decode()


def test_resend_replaces_the_link(admin_client, invited):
    """The old link stops working, the new one works; audited."""
    invitation, old_path = invited
    admin_client.post(reverse("teams:resend", args=[invitation.pk]))
    new_path, _ = last_link()
    assert new_path != old_path
    assert Client().get(old_path).status_code == 404
    _, response = join(new_path)
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=Action.INVITATION_RESENT).exists()


def test_another_partners_admin_cannot_resend_or_revoke(other_client, invited):
    """Foreign invitation ids: 404, the invitation unchanged, no email."""
    invitation, _ = invited
    sent = len(mail.outbox)
    assert other_client.post(reverse("teams:revoke", args=[invitation.pk])).status_code == 404
    assert other_client.post(reverse("teams:resend", args=[invitation.pk])).status_code == 404
    invitation.refresh_from_db()
    assert invitation.is_pending and len(mail.outbox) == sent


def test_an_existing_user_signs_in_to_accept_and_may_switch_partners(admin_client, mallory,
                                                                    partner, other_partner):
    """Mallory (Globex) is invited to Acme: her password joins her; the header then offers
    a partner switcher, which changes the partner the console shows."""
    invite(admin_client, "mallory@globex.test", "viewer")
    path, _ = last_link()
    client = Client()
    page = client.get(path).content.decode()
    assert "already have a login" in page and 'name="password1"' not in page
    response = client.post(path, {"password": "wrong-password"})
    assert "not right" in response.content.decode()
    assert not Membership.objects.filter(user=mallory, partner=partner).exists()
    response = client.post(path, {"password": PASSWORD})
    assert response.status_code == 302
    assert Membership.objects.filter(user=mallory).count() == 2
    html = client.get(LIBRARY).content.decode()
    assert 'id="partner-switcher"' in html and "Globex" in html
    acme = Membership.objects.get(user=mallory, partner=partner)
    assert f'<option value="{acme.pk}" selected>Acme Cloud' in html
    globex = Membership.objects.get(user=mallory, partner=other_partner)
    client.post(reverse("teams:switch_partner"), {"membership": globex.pk})
    html = client.get(LIBRARY).content.decode()
    assert f'<option value="{globex.pk}" selected>Globex' in html


def test_switching_to_a_partner_one_is_not_a_member_of_is_refused(admin_client, mallory):
    """Another user's membership id: 404, nothing changes."""
    theirs = Membership.objects.get(user=mallory)
    assert admin_client.post(reverse("teams:switch_partner"),
                             {"membership": theirs.pk}).status_code == 404


def test_a_link_opened_while_logged_in_as_someone_else_is_refused(invited, victor):
    """Victor cannot take nina's invitation."""
    invitation, path = invited
    response = client_for(victor).post(path)
    assert response.status_code == 403 and "is for nina@acme.test" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.is_pending


def test_the_token_appears_in_no_log_audit_event_or_admin_page(admin_client, partner, json_log,
                                                              django_user_model):
    """Invite, open, accept with DEBUG logging: the token is nowhere but the email."""
    invite(admin_client, "nina@acme.test")
    path, token = last_link()
    Client().get(path + "?x=1")
    join(path)
    Client().get(path)  # the refused second use, logged as a 4xx
    assert token not in json_log.getvalue()
    for event in AuditEvent.objects.all():
        assert token not in str(event.detail)
    superuser = django_user_model.objects.create_superuser("root@hatchway.test", PASSWORD)
    staff = client_for(superuser)
    invitation = Invitation.objects.get()
    for url in (reverse("admin:teams_invitation_changelist"),
                reverse("admin:teams_invitation_change", args=[invitation.pk])):
        html = staff.get(url).content.decode()
        assert token not in html and invitation.token_hash not in html


def test_an_existing_user_with_two_factor_must_log_in_fully_to_accept(admin_client, mallory,
                                                                     partner):
    """Mallory has an authenticator app: her password on the invitation page is not enough
    (no membership, not logged in); the page sends her to log in, back to the link."""
    from teams.models import AuthenticatorApp

    AuthenticatorApp.objects.create(user=mallory, name="app", confirmed=True)
    invite(admin_client, "mallory@globex.test")
    path, _ = last_link()
    client = Client()
    page = client.get(path).content.decode()
    assert 'name="password"' not in page and "/login/?next=%2Finvitations%2F" in page
    response = client.post(path, {"password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert not Membership.objects.filter(user=mallory, partner=partner).exists()
    assert response.status_code == 200
