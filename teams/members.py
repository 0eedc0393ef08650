"""Changing a partner's members: role changes and removal, the last admin protected.

Both lock the partner's admin memberships first, so two admins demoting each other at
the same moment cannot leave the partner without one (the second waits and is refused).
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from accounts.access import SSO_PARTNER_KEY, current_membership
from accounts.models import Membership, User
from audit import events as audit
from teams import sessions

#: The session's list of (membership id, partner name) for the header's partner switcher,
#: kept so that pages do not query the user's memberships on every request.
PARTNERS_KEY = "teams_partners"


class LastAdmin(Exception):
    """The change would leave the partner without an admin."""


def _guard_last_admin(membership: Membership) -> Membership:
    """Lock the partner's admins and refuse when `membership` is the only one; returns the
    locked, current row."""
    admins = list(Membership.objects.select_for_update()
                  .filter(partner_id=membership.partner_id, role=Membership.Role.ADMIN)
                  .order_by("pk").values_list("pk", flat=True))
    current = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    if current.role == Membership.Role.ADMIN and admins == [current.pk]:
        raise LastAdmin("The last admin cannot be removed or made a viewer. Make another "
                        "member an admin first.")
    return current


def change_role(*, membership: Membership, role: str, by: User) -> Membership:
    with transaction.atomic():
        current = (_guard_last_admin(membership) if role != Membership.Role.ADMIN else
                   Membership.objects.select_for_update().select_related("user")
                   .get(pk=membership.pk))
        if current.role == role:
            return current
        old = current.role
        current.role = role
        current.save(update_fields=["role"])
        audit.record(audit.Action.MEMBER_ROLE_CHANGED, partner=current.partner_id, actor=by,
                     email=current.user.email, old_role=old, role=role)
    return current


def remove_member(*, membership: Membership, by: User) -> None:
    """Remove the member; every session of theirs ends at once (on every device: a user
    in several partners logs in again to the others)."""
    with transaction.atomic():
        current = _guard_last_admin(membership)
        user = current.user
        current.delete()
        user.end_sessions()
        audit.record(audit.Action.MEMBER_REMOVED, partner=membership.partner_id, actor=by,
                     email=user.email, role=current.role)


def switch_partner(*, user: User, membership: Membership) -> None:
    """Work in another of the user's partners (the header's partner switcher)."""
    if membership.user_id != user.pk:
        raise Membership.DoesNotExist
    user.current_membership = membership
    User.objects.filter(pk=user.pk).update(current_membership=membership)


def remember_partners(request: HttpRequest, user: User) -> None:
    if request.session.get(SSO_PARTNER_KEY) is not None:  # an SSO session: one partner only
        request.session[PARTNERS_KEY] = []
        return
    choices = [[m.pk, m.partner.name] for m in user.memberships.select_related("partner")
               .defer("partner__logo")]
    request.session[PARTNERS_KEY] = choices if len(choices) > 1 else []


def after_login(request: HttpRequest, user: User) -> None:
    """Choose the partner the console shows (no query on the next page), remember the
    user's partners for the switcher, and list the session on the Security page."""
    current_membership(user)
    remember_partners(request, user)
    sessions.record(request, user)
