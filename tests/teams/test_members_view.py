"""The Members page: the list, role changes and removal, the last admin protected."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import Membership
from audit.models import Action, AuditEvent
from tests.factories import client_for

MEMBERS = reverse("teams:members")
LIBRARY = reverse("connectors:library")


def test_members_page_lists_members_with_role_last_login_and_two_factor(admin_client, alice,
                                                                       victor, mallory):
    """Every member of the partner with email, name, role, last login and 2FA; not others."""
    alice.first_name = "Alice Admin"
    alice.save()
    html = admin_client.get(MEMBERS).content.decode()
    assert ">Members</a>" in html and 'aria-current="page">Members' in html
    assert "alice@acme.test" in html and "Alice Admin" in html and "victor@acme.test" in html
    for heading in ("Email", "Name", "Role", "Last login", "Two-factor authentication"):
        assert f'<th scope="col">{heading}</th>' in html
    assert "mallory@globex.test" not in html
    assert "Invite member" in html and "Remove member" in html


def test_viewer_reads_the_members_page_without_controls(viewer_client, alice):
    """A viewer sees the list but no invite form, role change or removal."""
    response = viewer_client.get(MEMBERS)
    html = response.content.decode()
    assert response.status_code == 200 and "alice@acme.test" in html
    assert "Invite member</button>" not in html and "Remove member" not in html


def test_admin_changes_a_role_and_it_is_audited(admin_client, alice, victor):
    """Viewer → Admin: saved, and an audit event names the member and both roles."""
    membership = Membership.objects.get(user=victor)
    response = admin_client.post(reverse("teams:change_role", args=[membership.pk]),
                                 {"role": "admin"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Membership.Role.ADMIN
    event = AuditEvent.objects.get(action=Action.MEMBER_ROLE_CHANGED)
    assert event.actor == alice
    assert event.detail == {"email": "victor@acme.test", "old_role": "viewer", "role": "admin"}


def test_a_viewer_cannot_change_roles_or_remove(viewer_client, alice):
    """Viewers get 403 and nothing changes."""
    membership = Membership.objects.get(user=alice)
    assert viewer_client.post(reverse("teams:change_role", args=[membership.pk]),
                              {"role": "viewer"}).status_code == 403
    assert viewer_client.post(reverse("teams:remove", args=[membership.pk])).status_code == 403
    membership.refresh_from_db()
    assert membership.role == Membership.Role.ADMIN


def test_the_last_admin_cannot_be_demoted_or_removed(admin_client, alice, victor):
    """Alice is the only admin: making her a viewer or removing her is refused, nothing changes."""
    membership = Membership.objects.get(user=alice)
    response = admin_client.post(reverse("teams:change_role", args=[membership.pk]),
                                 {"role": "viewer"}, follow=True)
    assert "The last admin cannot be removed or made a viewer" in response.content.decode()
    response = admin_client.post(reverse("teams:remove", args=[membership.pk]), follow=True)
    assert "The last admin cannot be removed or made a viewer" in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Membership.Role.ADMIN
    assert not AuditEvent.objects.filter(action__startswith="member.").exists()


def test_with_a_second_admin_the_first_may_step_down(admin_client, alice, victor):
    """Once victor is an admin too, alice may become a viewer."""
    victor_membership = Membership.objects.get(user=victor)
    admin_client.post(reverse("teams:change_role", args=[victor_membership.pk]), {"role": "admin"})
    mine = Membership.objects.get(user=alice)
    admin_client.post(reverse("teams:change_role", args=[mine.pk]), {"role": "viewer"})
    mine.refresh_from_db()
    assert mine.role == Membership.Role.VIEWER


def test_removing_a_member_ends_their_sessions_at_once(admin_client, alice, victor):
    """Victor's open session is logged out on his next request; the removal is audited."""
    victors_browser = client_for(victor)
    assert victors_browser.get(LIBRARY).status_code == 200
    membership = Membership.objects.get(user=victor)
    response = admin_client.post(reverse("teams:remove", args=[membership.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    response = victors_browser.get(LIBRARY)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert admin_client.get(LIBRARY).status_code == 200  # the admin's own session is kept
    event = AuditEvent.objects.get(action=Action.MEMBER_REMOVED)
    assert event.detail == {"email": "victor@acme.test", "role": "viewer"} and event.actor == alice


def test_another_partners_members_are_not_found(other_client, alice):
    """Mallory (Globex admin) cannot change or remove Acme's members: 404, nothing changes."""
    membership = Membership.objects.get(user=alice)
    assert other_client.post(reverse("teams:change_role", args=[membership.pk]),
                             {"role": "viewer"}).status_code == 404
    assert other_client.post(reverse("teams:remove", args=[membership.pk])).status_code == 404
    assert Membership.objects.filter(pk=membership.pk, role="admin").exists()


def test_an_invalid_role_is_refused(admin_client, victor):
    """A role that is not Admin or Viewer changes nothing."""
    membership = Membership.objects.get(user=victor)
    admin_client.post(reverse("teams:change_role", args=[membership.pk]), {"role": "owner"})
    membership.refresh_from_db()
    assert membership.role == Membership.Role.VIEWER


def test_remove_member_asks_first(admin_client, alice, victor):
    """The Members page links to a confirmation page; opening it removes nobody."""
    membership = Membership.objects.get(user=victor)
    remove = reverse("teams:remove", args=[membership.pk])
    html = admin_client.get(MEMBERS).content.decode()
    assert f'href="{remove}"' in html
    assert f'action="{remove}"' not in html  # no one-click form
    response = admin_client.get(remove)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Remove victor@acme.test?" in html and "their sessions end" in html
    assert '<button type="submit" class="danger">Remove member</button>' in html
    assert f'href="{MEMBERS}">Cancel</a>' in html
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert not AuditEvent.objects.filter(action=Action.MEMBER_REMOVED).exists()
    response = admin_client.post(remove, follow=True)
    assert "victor@acme.test was removed." in response.content.decode()
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_the_remove_confirmation_is_refused_to_viewers_and_other_partners(viewer_client,
                                                                          other_client, alice):
    """A viewer gets 403 and another partner's admin 404 on the confirmation page too."""
    remove = reverse("teams:remove", args=[Membership.objects.get(user=alice).pk])
    assert viewer_client.get(remove).status_code == 403
    response = other_client.get(remove)
    assert response.status_code == 404 and "alice@acme.test" not in response.content.decode()
