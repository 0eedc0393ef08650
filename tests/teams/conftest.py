from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Membership
from teams.models import Invitation

LINK = re.compile(r"http://testserver/invitations/([A-Za-z0-9_-]+)/")


def invite(client, email: str, role: str = Membership.Role.VIEWER):
    """Invite through the Members page; returns the response."""
    return client.post(reverse("teams:invite"), {"email": email, "role": role})


def last_link() -> tuple[str, str]:
    """The URL path and token of the invitation link in the last email sent."""
    token = LINK.findall(mail.outbox[-1].body)[-1]
    return reverse("teams:accept", args=[token]), token


@pytest.fixture
def invited(admin_client, partner) -> tuple[Invitation, str]:
    """An invitation of nina@acme.test as a viewer, and its link's path."""
    invite(admin_client, "nina@acme.test")
    path, _ = last_link()
    return Invitation.objects.get(email="nina@acme.test"), path


@pytest.fixture(autouse=True)
def fresh_counts():
    """Each test starts with no password-reset requests counted."""
    from django.core.cache import cache

    cache.clear()
