"""SECURITY.md "Requests and responses": request bodies are bounded before they reach
disk, and file parts are accepted only where a logo is uploaded (the branding page)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.test import Client
from django.urls import reverse

from accounts.models import Partner
from tests.links.test_branding import form, image_bytes, upload

BRANDING = reverse("links:branding")


@pytest.fixture
def files_kept(monkeypatch) -> list[str]:
    """Every file part Django's upload handlers start keeping (in memory or on disk)."""
    kept: list[str] = []
    for handler in (MemoryFileUploadHandler, TemporaryFileUploadHandler):
        original = handler.new_file

        def spy(self, *args, _original=original, _name=handler.__name__, **kwargs):
            kept.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(handler, "new_file", spy)
    return kept


def big_file(size: int) -> SimpleUploadedFile:
    return SimpleUploadedFile("big.bin", b"\0" * size, content_type="application/octet-stream")


def test_a_large_anonymous_multipart_post_to_login_is_413_and_writes_no_file(db, files_kept):
    """3 MB at /login/: refused from Content-Length, no temporary file started."""
    response = Client().post("/login/", {"username": "a@b.test", "file": big_file(3 << 20)})
    assert response.status_code == 413
    assert files_kept == []


def test_a_large_form_post_is_413(db):
    """A url-encoded body over MAX_REQUEST_BODY is refused too, not parsed."""
    response = Client().post("/login/", {"username": "a@b.test", "password": "x" * (300 << 10)})
    assert response.status_code == 413


def test_the_limit_is_configurable(db, settings):
    """MAX_REQUEST_BODY sets the limit."""
    settings.MAX_REQUEST_BODY = 100
    response = Client().post("/login/", {"username": "a@b.test", "password": "x" * 200})
    assert response.status_code == 413
    settings.MAX_REQUEST_BODY = 10_000
    assert Client().post("/login/", {"username": "a@b.test", "password": "x" * 200}
                         ).status_code == 200


def test_a_small_file_part_outside_the_branding_page_is_refused(db, files_kept):
    """A file part on the login page: 400, and no handler starts keeping it."""
    response = Client().post("/login/", {"username": "a@b.test", "file": big_file(10)})
    assert response.status_code == 400
    assert files_kept == []


def test_file_parts_are_refused_on_console_pages(admin_client, files_kept):
    """Signed in, a file part on another console form (a new account) is refused too."""
    response = admin_client.post(reverse("accounts:create"),
                                 {"name": "Initech", "external_id": "c-1", "f": big_file(10)})
    assert response.status_code == 400
    assert files_kept == []


def test_the_branding_page_still_takes_a_logo(admin_client, partner, files_kept):
    """The upload page accepts its logo, kept in memory (never a temporary file)."""
    response = admin_client.post(BRANDING, form(logo_file=upload(image_bytes())))
    assert response.status_code == 302
    assert Partner.objects.get(pk=partner.pk).logo_content_type == "image/png"
    assert files_kept == ["MemoryFileUploadHandler"]


def test_the_branding_page_has_its_own_larger_limit(admin_client, settings, files_kept):
    """Over MAX_UPLOAD_REQUEST_BODY the branding page answers 413 as well."""
    settings.MAX_UPLOAD_REQUEST_BODY = 512 << 10
    response = admin_client.post(BRANDING, form(logo_file=big_file(600 << 10)))
    assert response.status_code == 413
    assert files_kept == []
