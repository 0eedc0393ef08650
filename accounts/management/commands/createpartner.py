"""`manage.py createpartner "NAME" --email EMAIL`: a partner and its first admin."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction
from django.utils.text import slugify

from accounts.models import Membership, Partner, User

PASSWORD_ENV = "HATCHWAY_ADMIN_PASSWORD"
MAX_PROMPTS = 3


class Command(BaseCommand):
    help = ("Create a partner and its first member (an admin unless --role says otherwise). "
            f"The password is prompted for, or with --noinput read from ${PASSWORD_ENV}.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The partner's name, e.g. \"Acme Cloud\".")
        parser.add_argument("--email", required=True, help="The first member's login email.")
        parser.add_argument("--slug", help="The partner's slug (default: from the name).")
        parser.add_argument("--role", choices=Membership.Role.values,
                            default=Membership.Role.ADMIN, help="The first member's role.")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help=f"Do not prompt; read the password from ${PASSWORD_ENV}.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        email = options["email"].strip().lower()
        slug = options["slug"] or slugify(name)[:60].strip("-")
        self._check(name, email, slug)
        user = User(email=email)
        password = (self._prompt_password(user) if options["interactive"]
                    else self._env_password(user))
        with transaction.atomic():
            self._check(name, email, slug)  # again, inside the transaction
            partner = Partner.objects.create(name=name, slug=slug)
            user = User.objects.create_user(email=email, password=password)
            Membership.objects.create(user=user, partner=partner, role=options["role"])
        self.stdout.write(self.style.SUCCESS(
            f"Created partner {partner.name} ({partner.slug}) with {options['role']} {email}."))

    def _check(self, name: str, email: str, slug: str) -> None:
        if not name:
            raise CommandError("The partner name must not be empty.")
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid email address.") from None
        if not slug or slugify(slug) != slug:
            raise CommandError(f"{slug!r} is not a valid slug: use lower-case letters, digits "
                               "and '-' (pass --slug).")
        if Partner.objects.filter(slug=slug).exists():
            raise CommandError(f"A partner with slug {slug!r} already exists (pass --slug).")
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"A user with email {email} already exists.")

    def _env_password(self, user: User) -> str:
        password = os.environ.get(PASSWORD_ENV, "")
        if not password:
            raise CommandError(f"--noinput needs the password in the environment variable "
                               f"{PASSWORD_ENV}.")
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(f"{PASSWORD_ENV} is not accepted: {' '.join(exc.messages)}"
                               ) from None
        return password

    def _prompt_password(self, user: User) -> str:
        for _ in range(MAX_PROMPTS):
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("The two passwords differ.")
                continue
            try:
                validate_password(password, user)
            except ValidationError as exc:
                self.stderr.write(" ".join(exc.messages))
                continue
            return password
        raise CommandError("No acceptable password was entered.")
