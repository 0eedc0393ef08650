"""`manage.py sso_recovery_link EMAIL`: a one-time sign-in link for an admin whose partner
requires single sign-on and whose identity provider does not let them in (issue 23).

Run by whoever runs manage.py -- the operators, the superuser's side of the house. The
link is printed, never stored (Django's signed token, spent by the sign-in it makes) and
valid PASSWORD_RESET_TIMEOUT seconds; its issue is audited for each partner of the user.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Membership, User
from audit import events as audit
from teams.single_sign_on import recovery_tokens


class Command(BaseCommand):
    help = ("Print a one-time sign-in link for a partner admin (when their partner requires "
            "single sign-on and the identity provider is unavailable).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The admin's login email.")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        user = User.objects.filter(email__iexact=email, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user has the email {email}.")
        admin_of = list(Membership.objects.filter(user=user, role=Membership.Role.ADMIN)
                        .values_list("partner_id", flat=True))
        if not admin_of:
            raise CommandError(f"{email} is not an admin of any partner: recovery links are "
                               "for admins only.")
        token = recovery_tokens.make_token(user)
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        with transaction.atomic():
            for partner_id in admin_of:
                audit.record(audit.Action.RECOVERY_LINK_ISSUED, partner=partner_id,
                             actor_label="manage.py sso_recovery_link", email=user.email)
        path = reverse("teams:recovery_sign_in", args=[uid, token])
        minutes = settings.PASSWORD_RESET_TIMEOUT // 60
        self.stdout.write(f"{settings.PUBLIC_URL}{path}\n")
        self.stderr.write(f"One-time sign-in link for {user.email}: valid {minutes} minutes, "
                          "spent by the sign-in it makes. Give it to them privately.\n")
