"""How the console finds who is logged in: Django's ModelBackend, one query per request."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from accounts.models import User


class MemberBackend(ModelBackend):
    """ModelBackend whose per-request lookup of the session's user also loads the
    membership the user currently works in and its partner (not the partner's logo, which
    has its own view): every console page needs all three, and `partner_view` then finds
    them without a query of its own."""

    def get_user(self, user_id: Any) -> User | None:
        try:
            user = (User.objects.select_related("current_membership__partner")
                    .defer("current_membership__partner__logo").get(pk=user_id))
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
