"""Branding settings: validation, logo upload and serving, audit, access rules, preview."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PIL import Image

from accounts.models import Partner
from audit.models import AuditEvent
from links.branding_forms import BrandingForm

URL = reverse("links:branding")
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script></svg>')


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (170, 51, 0)).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(data: bytes, name: str = "logo.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def form(**overrides):
    data = {"display_name": "Acme Apps", "primary_colour": "#1A73E8",
            "support_email": "support@acme.test",
            "allowed_return_origins": "https://app.acme.test\nhttp://localhost:8000",
            "allowed_frame_origins": ""}
    data.update(overrides)
    return data


def test_admin_saves_branding(admin_client, partner, alice):
    """Saving stores normalised values and audits the changed field names only."""
    response = admin_client.post(URL, form())
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.display_name == "Acme Apps"
    assert partner.primary_colour == "#1a73e8"
    assert partner.allowed_return_origins == ["https://app.acme.test", "http://localhost:8000"]
    event = AuditEvent.objects.get(action="branding.saved")
    assert event.actor == alice
    assert set(event.detail["fields"]) == {"display_name", "primary_colour",
                                           "support_email", "allowed_return_origins"}
    assert "Acme Apps" not in str(event.detail)


def test_page_shows_form_and_preview_link(admin_client, partner):
    """The page has the fields, Save Changes and a link to the install-page preview."""
    html = admin_client.get(URL).content.decode()
    for text in ("Display name", "Logo", "Primary colour", "Support email",
                 "Allowed return URLs", "Allowed embedding origins", "Save Changes",
                 reverse("links:branding_preview")):
        assert text in html


@pytest.mark.parametrize(("colour", "ratio"), [("#ffee00", "1.20"), ("#FFEE00", "1.20"),
                                               ("#2f9bff", "2.90"), ("#ffffff", "1.00")])
def test_unreadable_colour_refused_naming_its_ratio(admin_client, partner, colour, ratio):
    """A colour below 4.5:1 against white is refused with its ratio; nothing is saved."""
    response = admin_client.post(URL, form(primary_colour=colour, display_name="Changed"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"has a contrast ratio of {ratio}:1 against white" in html and "4.5:1" in html
    partner.refresh_from_db()
    assert (partner.primary_colour, partner.display_name) == ("#aa3300", "Acme")
    assert not AuditEvent.objects.filter(action="branding.saved").exists()


def test_colour_is_picked_with_a_live_preview(admin_client, partner):
    """A colour input, and a sample of the install page in the saved colour."""
    html = admin_client.get(URL).content.decode()
    assert 'type="color" name="primary_colour" value="#aa3300"' in html
    assert 'id="brand-preview" data-colour-input="id_primary_colour"' in html
    assert f'href="{reverse("install:theme", args=["aa3300"])}"' in html


@pytest.mark.parametrize("colour", ["red", "#12345", "#1234567", "#ggg000", "123456", "#12 456",
                                    "", "#12345\x00"])
def test_bad_colour_refused(admin_client, partner, colour):
    """Only #rrggbb hex colours are accepted."""
    response = admin_client.post(URL, form(primary_colour=colour))
    assert response.status_code == 200
    assert Partner.objects.get(pk=partner.pk).primary_colour == "#aa3300"


@pytest.mark.parametrize("origins", ["https://app.acme.test/path", "//evil.com",
                                     "javascript:alert(1)", "http://app.acme.test",
                                     "https://user@app.acme.test", "https://*.acme.test",
                                     "https://a.test 'unsafe-inline'"])
def test_bad_origins_refused(admin_client, partner, origins):
    """Allowlists accept only scheme://host[:port] lines; https unless loopback."""
    for field in ("allowed_return_origins", "allowed_frame_origins"):
        response = admin_client.post(URL, form(**{field: origins}))
        assert response.status_code == 200
        assert "errorlist" in response.content.decode()
        partner.refresh_from_db()
        assert partner.allowed_return_origins == [] and partner.allowed_frame_origins == []


@pytest.mark.parametrize("fmt,content_type", [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                              ("GIF", "image/gif"), ("WEBP", "image/webp")])
def test_logo_upload_and_serving(admin_client, partner, fmt, content_type):
    """PNG, JPEG, GIF and WebP logos are stored and served with their type and nosniff."""
    data = image_bytes(fmt)
    # The declared type is ignored: the bytes decide.
    response = admin_client.post(URL, form(logo_file=upload(data, "x.bin", "text/html")))
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.logo_content_type == content_type
    with Image.open(io.BytesIO(bytes(partner.logo))) as stored:  # re-encoded, same picture
        assert stored.format == fmt and stored.size == (64, 32)
    served = admin_client.get(reverse("links:branding_logo"))
    assert served["Content-Type"] == content_type
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served.content == bytes(partner.logo)
    assert "logo" in AuditEvent.objects.get(action="branding.saved").detail["fields"]


@pytest.mark.parametrize("data,name", [
    (SVG, "logo.svg"),
    (b"<html><script>alert(1)</script></html>", "logo.png"),
    (b"GIF89a not really", "logo.gif"),
    (image_bytes("BMP"), "logo.bmp"),
    (image_bytes("PNG", (1025, 10)), "wide.png"),
    (image_bytes("PNG", (10, 2000)), "tall.png"),
    (image_bytes("PNG")[:40], "truncated.png"),
])
def test_bad_logos_refused(admin_client, partner, data, name):
    """SVG, non-images, other formats, oversized dimensions and broken files are refused."""
    response = admin_client.post(URL, form(logo_file=upload(data, name)))
    assert response.status_code == 200
    assert "logo" in response.content.decode().lower()
    partner.refresh_from_db()
    assert partner.logo is None and partner.logo_content_type == ""


def noisy_image(fmt: str, **save: object) -> bytes:
    """An image whose pixels do not compress away, so cutting its end loses pixel data."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (200, 200), bytes(range(256)) * 468 + bytes(192)).save(
        buffer, format=fmt, **save)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_logos_refused(admin_client, partner, fmt):
    """A file cut short (its header intact) is refused: every pixel must decode."""
    data = noisy_image(fmt)
    response = admin_client.post(URL, form(logo_file=upload(data[: len(data) * 2 // 3])))
    assert response.status_code == 200
    assert "damaged or incomplete" in response.content.decode()
    partner.refresh_from_db()
    assert partner.logo is None


def test_logo_metadata_is_dropped(admin_client, partner):
    """EXIF (camera, GPS), comments and profiles are not stored: the logo is re-encoded."""
    exif = Image.Exif()
    exif[0x010F] = "FakeCam Secret-Location-Maker"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
    data = noisy_image("JPEG", exif=exif.tobytes(), comment=b"fake-private-comment",
                       icc_profile=b"fake-profile")
    assert b"Secret-Location-Maker" in data and b"fake-private-comment" in data
    response = admin_client.post(URL, form(logo_file=upload(data, "logo.jpg", "image/jpeg")))
    assert response.status_code == 302
    partner.refresh_from_db()
    stored = bytes(partner.logo)
    assert b"Secret-Location-Maker" not in stored and b"fake-private-comment" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif() and "icc_profile" not in image.info
        assert image.format == "JPEG" and image.size == (200, 200)


def test_png_text_chunks_are_dropped(admin_client, partner):
    """A PNG's text chunks (an editor's or an attacker's) are not kept."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "fake-png-comment-chunk")
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (1, 2, 3)).save(buffer, format="PNG", pnginfo=info)
    response = admin_client.post(URL, form(logo_file=upload(buffer.getvalue())))
    assert response.status_code == 302
    partner.refresh_from_db()
    assert b"fake-png-comment-chunk" not in bytes(partner.logo)


def test_logo_over_256_kb_refused(admin_client, partner):
    """A valid image over 256 KB is refused."""
    big = image_bytes("PNG", (10, 10)) + b"\x00" * (256 * 1024)
    response = admin_client.post(URL, form(logo_file=upload(big)))
    assert "256 KB" in response.content.decode()
    partner.refresh_from_db()
    assert partner.logo is None


def test_remove_logo(admin_client, partner):
    """Remove logo deletes the stored image; the logo URL then 404s."""
    partner.logo, partner.logo_content_type = image_bytes(), "image/png"
    partner.save()
    assert admin_client.post(URL, form(remove_logo="on")).status_code == 302
    partner.refresh_from_db()
    assert partner.logo is None and partner.logo_content_type == ""
    assert admin_client.get(reverse("links:branding_logo")).status_code == 404


def test_viewer_sees_but_cannot_save(viewer_client, partner):
    """Viewers may look (200) but POST is 403 and nothing changes."""
    assert viewer_client.get(URL).status_code == 200
    assert viewer_client.post(URL, form()).status_code == 403
    assert Partner.objects.get(pk=partner.pk).display_name == "Acme"
    assert not AuditEvent.objects.exists()


def test_branding_is_per_partner(other_client, partner, other_partner):
    """Another partner's admin edits only its own branding."""
    other_client.post(URL, form(display_name="Globex Apps"))
    assert Partner.objects.get(pk=partner.pk).display_name == "Acme"
    assert Partner.objects.get(pk=other_partner.pk).display_name == "Globex Apps"


def test_preview_shows_the_install_page(admin_client, partner):
    """The preview renders the customer page with the brand name and colour, inert."""
    html = admin_client.get(reverse("links:branding_preview")).content.decode()
    assert "Acme" in html and "Connect your applications" in html
    assert reverse("install:theme", args=["aa3300"]) in html
    assert "Hatchway" not in html
    assert "<form" not in html


def test_theme_stylesheet(client):
    """The theme stylesheet sets --brand from the URL and picks a readable text colour."""
    response = client.get(reverse("install:theme", args=["aa3300"]))
    assert response["Content-Type"].startswith("text/css")
    assert "--brand: #aa3300" in response.content.decode()
    assert "--brand-ink: #ffffff" in response.content.decode()
    light = client.get(reverse("install:theme", args=["ffee00"])).content.decode()
    assert "--brand-ink: #000000" in light
    assert client.get("/install/theme/AA3300.css").status_code == 404
    assert client.get("/install/theme/aa33.css").status_code == 404


@hypothesis_settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_property_hostile_text_never_raises(partner, text):
    """Any text in any field is either accepted cleanly or refused with errors, never raised."""
    for field in ("display_name", "primary_colour", "support_email", "allowed_return_origins",
                  "allowed_frame_origins"):
        bound = BrandingForm(form(**{field: text}), instance=Partner.objects.get(pk=partner.pk))
        if bound.is_valid() and field.startswith("allowed_"):
            assert all(o.startswith(("https://", "http://")) for o in
                       bound.cleaned_data[field])
