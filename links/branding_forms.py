"""The console's Branding form: what customers see on install pages."""

from __future__ import annotations

import io
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError

from accounts.models import Partner
from core.contrast import TEXT_CONTRAST, contrast_ratio
from core.origins import parse_origins

HEX_COLOUR = re.compile(r"#[0-9a-f]{6}")
# The install pages' background (static/css/install.css): headings and links in the
# partner's colour sit on it; buttons put white text on the colour (the same ratio).
INSTALL_PAGE_BACKGROUND = "ffffff"

MAX_LOGO_BYTES = 256 * 1024
MAX_LOGO_SIDE = 1024
# Pillow's format name -> the content type the logo is served with. Never SVG: it can
# carry script, and Pillow does not read it anyway.
LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


# What survives re-encoding of an image's `info`: how it is drawn, never metadata.
KEPT_INFO = ("transparency", "duration", "loop", "background")


def check_logo(data: bytes) -> tuple[bytes, str]:
    """The logo re-encoded, and its content type, judged by its bytes; ValidationError when
    it is not allowed.

    Re-encoding decodes every pixel -- so a truncated or corrupt file is refused -- and
    writes a new file without EXIF, comments, text chunks or colour profiles, so nothing
    the uploader's camera or editor put in the file is served to customers.
    """
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationError("The logo must be at most 256 KB.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
            if kind not in LOGO_TYPES:
                raise ValidationError("Upload a PNG, JPEG, GIF or WebP image.")
            if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE:
                raise ValidationError("The logo must be at most 1024 × 1024 pixels.")
            encoded = reencode(image, kind)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError):
        raise ValidationError("Upload a PNG, JPEG, GIF or WebP image (this file is damaged or "
                              "incomplete).") from None
    if len(encoded) > MAX_LOGO_BYTES:
        raise ValidationError("The logo must be at most 256 KB.")
    return encoded, LOGO_TYPES[kind]


def reencode(image: Image.Image, kind: str) -> bytes:
    """Every frame decoded (truncated data raises OSError) and written to a new file."""
    frames = getattr(image, "n_frames", 1)
    image.load()
    for frame in range(1, frames):  # decode the other frames of an animation too
        image.seek(frame)
        image.load()
    image.seek(0)
    image.info = {key: value for key, value in image.info.items() if key in KEPT_INFO}
    buffer = io.BytesIO()
    options: dict[str, Any] = {"quality": "keep"} if kind == "JPEG" else {}
    image.save(buffer, format=kind, save_all=frames > 1, optimize=kind == "PNG", **options)
    return buffer.getvalue()


class OriginsField(forms.CharField):
    """One origin per line (scheme://host[:port]); cleans to a list of canonical origins."""

    widget = forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, max_length=5000, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]  # a list, not a str
        text = super().to_python(value) or ""  # empty_value is "": never None
        if "\x00" in text:
            raise ValidationError("Enter text without NUL characters.")
        return parse_origins(text)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or [])
        except ValidationError:
            return True


class BrandingForm(forms.ModelForm[Partner]):
    logo_file = forms.FileField(
        label="Logo", required=False,
        help_text="PNG, JPEG, GIF or WebP; at most 256 KB and 1024 × 1024 pixels.",
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/gif,"
                                                         "image/webp"}),
    )
    remove_logo = forms.BooleanField(label="Remove logo", required=False)
    allowed_return_origins = OriginsField(
        label="Allowed return URLs",
        help_text="One origin per line, like https://app.example.com. Install links may "
                  "send customers back only to these.",
    )
    allowed_frame_origins = OriginsField(
        label="Allowed embedding origins",
        help_text="One origin per line. Only these sites may show install pages in a frame; "
                  "leave empty to forbid framing.",
    )

    class Meta:
        model = Partner
        fields = ["display_name", "primary_colour", "support_email",
                  "allowed_return_origins", "allowed_frame_origins"]
        labels = {"display_name": "Display name", "primary_colour": "Primary colour",
                  "support_email": "Support email"}
        help_texts = {
            "display_name": "Shown to customers on install pages instead of your account name.",
            "primary_colour": "Used for headings, links and buttons; it must be dark enough "
                              "for text (a contrast of at least 4.5:1 against white).",
            "support_email": "Shown to customers who need help.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels as the product names them, no colon
        super().__init__(*args, **kwargs)
        # A colour picker (browsers without one show a text box: the pattern still helps).
        self.fields["primary_colour"].widget.input_type = "color"
        self.fields["primary_colour"].widget.attrs.update({"pattern": "#[0-9a-fA-F]{6}"})
        self.logo, self.logo_content_type = b"", ""

    def clean_primary_colour(self) -> str:
        """Refused when text in it would be hard to read on the install pages' light
        background (headings, links) or white text on it (buttons): WCAG 2 AA, 4.5:1."""
        colour: str = self.cleaned_data["primary_colour"].lower()
        if not HEX_COLOUR.fullmatch(colour):
            return colour  # the model's validator says what is wrong
        ratio = contrast_ratio(colour.lstrip("#"), INSTALL_PAGE_BACKGROUND)
        if ratio < TEXT_CONTRAST:
            raise ValidationError(
                f"{colour} has a contrast ratio of {ratio:.2f}:1 against white; text in it "
                f"needs at least {TEXT_CONTRAST}:1 to be readable. "
                "Choose a darker colour.", code="low_contrast")
        return colour

    def clean_logo_file(self) -> UploadedFile[bytes] | None:
        upload = self.cleaned_data.get("logo_file")
        if upload:
            if upload.size > MAX_LOGO_BYTES:
                raise ValidationError("The logo must be at most 256 KB.")
            self.logo, self.logo_content_type = check_logo(upload.read())
        return upload

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data  # what Form.clean returns (its stubs allow None)
        if cleaned.get("logo_file") and cleaned.get("remove_logo"):
            self.add_error("remove_logo", "Upload a new logo or remove it, not both.")
        return cleaned

    @property
    def changed_fields(self) -> list[str]:
        """Names of what this save changes, for the audit event (never the values)."""
        names = [n for n in self.changed_data if n not in ("logo_file", "remove_logo")]
        if self.cleaned_data.get("logo_file") or self.cleaned_data.get("remove_logo"):
            names.append("logo")
        return names

    def save(self, commit: bool = True) -> Partner:
        partner = super().save(commit=False)
        upload = self.cleaned_data.get("logo_file")
        if upload:
            partner.logo, partner.logo_content_type = self.logo, self.logo_content_type
        elif self.cleaned_data.get("remove_logo"):
            partner.logo, partner.logo_content_type = None, ""
        if commit:
            partner.save()
        return partner
