"""Changing a partner's members: role changes and removal, the last admin protected.

Both lock the partner's admin memberships first, so two admins demoting each other at
the same moment cannot leave the partner without one (the second waits and is refused).
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import Membership, User
from audit import events as audit


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
