"""The invitation email: plain text, in the partner's name, no secret but the link."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from teams.models import VALID_FOR, Invitation


def invitation_url(token: str) -> str:
    return settings.PUBLIC_URL + reverse("teams:accept", args=[token])


def send_invitation(invitation: Invitation, token: str, *, by: User) -> None:
    partner = invitation.partner
    context = {"brand": partner.brand_name, "inviter": by.get_full_name() or by.email,
               "role": invitation.get_role_display(), "url": invitation_url(token),
               "days": VALID_FOR.days}
    send_mail(subject=f"{partner.brand_name}: you are invited to the console",
              message=render_to_string("teams/invitation_email.txt", context),
              from_email=None, recipient_list=[invitation.email])
