"""EMAIL_URL configures delivery; the filebased backend's directory is honoured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.config.test_deploy_settings import PRODUCTION_ENV, ROOT

SEND = ("import django; django.setup(); from django.conf import settings; "
        "from django.core.mail import send_mail; print(settings.EMAIL_BACKEND); "
        "send_mail('Hello', 'Body of the test', None, ['nina@acme.test'])")


def run(extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings", **extra}
    return subprocess.run([sys.executable, "-c", SEND], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_filemail_url_writes_messages_to_its_directory(tmp_path: Path):
    """EMAIL_URL=filemail:///<dir>: one file per message in that directory."""
    result = run({"EMAIL_URL": f"filemail://{tmp_path}"})
    assert result.returncode == 0, result.stderr
    assert "filebased" in result.stdout
    (written,) = tmp_path.iterdir()
    assert "Body of the test" in written.read_text()


def test_email_file_path_is_honoured(tmp_path: Path):
    """EMAIL_FILE_PATH names the filebased backend's directory."""
    result = run({"EMAIL_URL": "filemail:///nonexistent-elsewhere", "EMAIL_FILE_PATH":
                  str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.iterdir())) == 1


def test_the_default_prints_to_the_console():
    """Without EMAIL_URL the message is printed (the demo's backend)."""
    result = run({})
    assert "console" in result.stdout and "Body of the test" in result.stdout
