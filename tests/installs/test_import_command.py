"""Issue 20 §4: `manage.py import_installs FILE --partner <slug>` -- accounts created,
installs imported (refreshed where needed, verified), bad lines reported by number while
the rest go on, exit 1 when any failed, and a second run changes nothing."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from installs.import_file import read_lines
from installs.management.commands import import_installs
from installs.models import Install
from tests.fake_provider import install_fake
from tests.import_fixtures import TOKEN_URL, VERIFY_URL, accept, import_connector

BAD = {5: "not valid JSON", 20: "no connector 'nope'", 33: "control characters"}
EXPIRED_LINE = 8


def good(n: int) -> dict:
    line = {"account": {"external_id": f"cust-{n % 10}", "name": f"Customer {n % 10}"},
            "connector": "fake-import", "name": f"Install {n}",
            "credentials": {"access_token": f"fake-access-{n}", "refresh_token": f"fake-r-{n}",
                            "expires_in": 3600}}
    if n == EXPIRED_LINE:
        line["credentials"] = {"access_token": "fake-old", "refresh_token": "fake-r-old",
                               "expires_at": (timezone.now() - timedelta(days=1)).isoformat()}
        line["values"] = {"region": "eu"}
        line["scopes"] = ["read", "write"]
    return line


def bad(n: int) -> str:
    if n == 5:
        return '{"account": '
    if n == 20:
        return json.dumps({**good(n), "connector": "nope"})
    return json.dumps({**good(n), "credentials": {"access_token": "fake\nX-Evil: 1"}})


def write_file(tmp_path, count: int = 50):
    path = tmp_path / "installs.jsonl"
    path.write_text("\n".join(bad(n) if n in BAD else json.dumps(good(n))
                              for n in range(1, count + 1)) + "\n")
    return path


def run(path, *args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_installs", str(path), "--partner", "acme", *args,
                     stdout=out, stderr=err)
        failed = False
    except CommandError:
        failed = True
    return failed, out.getvalue(), err.getvalue()


@pytest.fixture
def provider(partner, monkeypatch):
    partner.slug = "acme"
    partner.save()
    import_connector(partner)
    Account.objects.create(partner=partner, name="Already here", external_id="cust-1")
    fake = install_fake(monkeypatch)
    accept(fake)
    return fake


def test_imports_the_good_lines_and_reports_the_bad_ones(provider, partner, tmp_path,
                                                         monkeypatch):
    """50 lines, 3 bad: 47 installs, the 3 reported by number and reason, exit 1; the
    expired token refreshed exactly once; accounts created where missing; progress."""
    monkeypatch.setattr(import_installs, "PROGRESS_EVERY", 20)
    failed, out, err = run(write_file(tmp_path))
    assert failed
    reported = err.strip().splitlines()
    assert [line.split(":")[0] for line in reported] == [f"line {n}" for n in BAD]
    for line, (number, reason) in zip(reported, BAD.items(), strict=True):
        assert reason in line, line
    assert "fake\nX-Evil" not in err and "fake-access" not in out + err
    assert Install.objects.count() == 47
    assert set(Install.objects.values_list("status", flat=True)) == {"authenticated"}
    assert Account.objects.filter(partner=partner).count() == 10
    assert Account.objects.get(external_id="cust-1").name == "Already here"
    assert len(provider.calls_to(TOKEN_URL)) == 1
    assert len(provider.calls_to(VERIFY_URL)) == 47
    expired = Install.objects.get(name=f"Install {EXPIRED_LINE}")
    assert expired.credentials["access_token"] == "fake-access-new-1"
    assert expired.values == {"region": "eu"} and expired.token_info["scope"] == "read write"
    assert AuditEvent.objects.filter(action="install.imported").count() == 47
    assert "20 lines: " in out and "40 lines: " in out
    assert "Done: 47 created, 0 updated, 0 unchanged, 3 failed." in out


def test_a_second_run_changes_nothing(provider, tmp_path):
    """The same file again: no duplicate, no provider call, no audit event."""
    path = write_file(tmp_path)
    run(path)
    calls, events = len(provider.calls), AuditEvent.objects.count()
    installs = dict(Install.objects.values_list("pk", "updated_at"))
    failed, out, err = run(path)
    assert failed and len(err.strip().splitlines()) == 3
    assert "Done: 0 created, 0 updated, 47 unchanged, 3 failed." in out
    assert dict(Install.objects.values_list("pk", "updated_at")) == installs
    assert len(provider.calls) == calls and AuditEvent.objects.count() == events


def test_a_changed_line_updates_its_install(provider, tmp_path):
    """A new token for an existing (account, connector, name): updated in place."""
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(good(1)) + "\n")
    assert run(path)[0] is False
    line = good(1)
    line["credentials"]["access_token"] = "fake-access-rotated"
    path.write_text(json.dumps(line) + "\n")
    failed, out, _ = run(path)
    assert not failed and "0 created, 1 updated" in out
    install = Install.objects.get()
    assert install.credentials["access_token"] == "fake-access-rotated"


def test_no_verify_skips_the_verify_request(provider, tmp_path):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(good(1)) + "\n")
    assert run(path, "--no-verify")[0] is False
    assert provider.calls_to(VERIFY_URL) == [] and Install.objects.get().is_working


def test_refused_line_saves_nothing(provider, tmp_path):
    """The provider rejecting a line's token: reported, nothing written for it."""
    provider.routes[("GET", VERIFY_URL)] = []
    provider.add("GET", VERIFY_URL, status=401)
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(good(1)) + "\n")
    failed, _, err = run(path)
    assert failed and err.startswith("line 1: The access token was rejected")
    assert not Install.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="install.").exists()


def test_long_lines_are_skipped_without_being_held():
    """A line over the limit is reported (None) and reading goes on with the next."""
    stream = io.StringIO("a" * 50 + "\n" + "b" * 10 + "\n\n" + "c\n")
    assert list(read_lines(stream, max_length=20)) == [(1, None), (2, "b" * 10 + "\n"),
                                                       (4, "c\n")]
