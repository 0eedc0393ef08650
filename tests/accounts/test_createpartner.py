"""`manage.py createpartner`: a partner, its first admin, atomic and with clear errors."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Membership, Partner, User

PASSWORD = "fake-admin-password-7c1e9"


def run(*args: str, **options: object) -> str:
    out = StringIO()
    call_command("createpartner", *args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def env_password(monkeypatch):
    monkeypatch.setenv("HATCHWAY_ADMIN_PASSWORD", PASSWORD)


def test_noinput_creates_partner_admin_and_membership(db, env_password):
    """--noinput: partner with a slug from the name, admin user with the env password."""
    out = run("Acme Cloud", "--email", "Admin@Acme.test", "--noinput")
    partner = Partner.objects.get()
    assert (partner.name, partner.slug) == ("Acme Cloud", "acme-cloud")
    user = User.objects.get()
    assert user.email == "admin@acme.test" and user.check_password(PASSWORD)
    assert not user.is_staff
    membership = Membership.objects.get()
    assert membership.user == user and membership.partner == partner
    assert membership.role == Membership.Role.ADMIN
    assert "Created partner Acme Cloud (acme-cloud) with admin admin@acme.test." in out
    assert PASSWORD not in out


def test_slug_and_role_options(db, env_password):
    """--slug and --role are honoured."""
    run("Acme Cloud", "--email", "v@acme.test", "--slug", "acme", "--role", "viewer",
        "--noinput")
    assert Partner.objects.get().slug == "acme"
    assert Membership.objects.get().role == Membership.Role.VIEWER


def test_noinput_without_env_password_fails(db, monkeypatch):
    """--noinput without HATCHWAY_ADMIN_PASSWORD is an error and creates nothing."""
    monkeypatch.delenv("HATCHWAY_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="HATCHWAY_ADMIN_PASSWORD"):
        run("Acme", "--email", "a@acme.test", "--noinput")
    assert not Partner.objects.exists() and not User.objects.exists()


def test_weak_env_password_is_refused(db, monkeypatch):
    """The environment password goes through Django's password validators."""
    monkeypatch.setenv("HATCHWAY_ADMIN_PASSWORD", "123")
    with pytest.raises(CommandError, match="too short"):
        run("Acme", "--email", "a@acme.test", "--noinput")
    assert not Partner.objects.exists()


def test_duplicate_email_is_refused(db, env_password):
    """An existing email (any case) is a clear error; no partner is created."""
    User.objects.create_user(email="a@acme.test", password=PASSWORD)
    with pytest.raises(CommandError, match="A user with email a@acme.test already exists"):
        run("New Partner", "--email", "A@acme.test", "--noinput")
    assert not Partner.objects.exists()


def test_duplicate_slug_is_refused(db, env_password):
    """An existing slug is a clear error; no user is created."""
    Partner.objects.create(name="Acme", slug="acme")
    with pytest.raises(CommandError, match="slug 'acme' already exists"):
        run("ACME", "--email", "b@acme.test", "--noinput")
    assert not User.objects.exists()


@pytest.mark.parametrize(("args", "message"), [
    (("   ", "--email", "a@acme.test"), "must not be empty"),
    (("Acme", "--email", "not-an-email"), "not a valid email"),
    (("Acme", "--email", "a@acme.test", "--slug", "Not A Slug"), "not a valid slug"),
    (("!!!", "--email", "a@acme.test"), "not a valid slug"),
])
def test_bad_arguments_are_refused(db, env_password, args, message):
    """Empty names, bad emails and bad slugs are refused before anything is written."""
    with pytest.raises(CommandError, match=message):
        run(*args, "--noinput")
    assert not Partner.objects.exists() and not User.objects.exists()


def test_interactive_prompts_twice_and_validates(db, monkeypatch):
    """Interactive: mismatches and weak passwords are re-asked; the accepted one is set."""
    answers = iter(["fake-one-password-1", "fake-other-password-2",  # differ
                    "123", "123",                                    # too weak
                    PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    err = StringIO()
    call_command("createpartner", "Acme", "--email", "a@acme.test", stdout=StringIO(),
                 stderr=err)
    assert User.objects.get().check_password(PASSWORD)
    assert "The two passwords differ." in err.getvalue()
    assert "too short" in err.getvalue()


def test_interactive_gives_up_after_three_tries(db, monkeypatch):
    """Three unacceptable answers end the command with an error and nothing created."""
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "123")
    with pytest.raises(CommandError, match="No acceptable password"):
        call_command("createpartner", "Acme", "--email", "a@acme.test", stdout=StringIO(),
                     stderr=StringIO())
    assert not Partner.objects.exists() and not User.objects.exists()
