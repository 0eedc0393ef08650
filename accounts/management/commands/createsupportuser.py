"""`manage.py createsupportuser EMAIL`: a staff user in the "Support" group, which may view
(never change) what support needs in the admin."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from accounts.management.commands import createpartner
from accounts.models import User

SUPPORT_GROUP = "Support"
#: (app label, model) pairs support may view. Their admin pages show no secret value
#: (tests/test_admin.py); API keys, Authentication Settings and users are left out.
SUPPORT_VIEWS = (("accounts", "partner"), ("accounts", "membership"), ("accounts", "account"),
                 ("installs", "install"), ("audit", "auditevent"),
                 ("links", "installlink"), ("webhooks", "webhookendpoint"),
                 ("webhooks", "webhookevent"), ("webhooks", "webhookdelivery"))


def support_group() -> Group:
    """The "Support" group with exactly the view permissions above (made or brought up to
    date: running the command again repairs it)."""
    wanted = Q()
    for app_label, model in SUPPORT_VIEWS:
        wanted |= Q(content_type__app_label=app_label, codename=f"view_{model}")
    permissions = list(Permission.objects.filter(wanted))
    if len(permissions) != len(SUPPORT_VIEWS):
        raise CommandError("Some view permissions are missing: run `manage.py migrate` first.")
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    group.permissions.set(permissions)
    return group


class Command(createpartner.Command):
    help = ("Create a staff user for support, in the \"Support\" group: it may view partners, "
            "members, accounts, installs, install links, audit events and webhooks in the "
            "admin, and change nothing. The password is prompted for, or with --noinput "
            f"read from ${createpartner.PASSWORD_ENV}.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The support person's login email.")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help=f"Do not prompt; read the password from "
                                 f"${createpartner.PASSWORD_ENV}.")

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid email address.") from None
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"A user with email {email} already exists.")
        user = User(email=email)
        password = (self._prompt_password(user) if options["interactive"]
                    else self._env_password(user))
        with transaction.atomic():
            group = support_group()
            user = User.objects.create_user(email=email, password=password, is_staff=True)
            user.groups.add(group)
        self.stdout.write(self.style.SUCCESS(
            f"Created support user {email} (staff, group {SUPPORT_GROUP}: view only)."))
