"""Partner branding: the console's Branding page, and what install pages need to wear it.

Install pages run under `style-src 'self'`, so the partner's colour cannot go in a
`style` attribute or a `<style>` element. Instead each page links a tiny stylesheet
whose URL carries the (validated) colour, `/install/theme/aa3300.css`, which sets
`--brand` and a readable text colour on top of it. The URL is the whole input, so the
response is static and cached for a year, and no partner data is looked up to serve it.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.access import PartnerRequest, partner_view
from accounts.models import Partner
from audit import events as audit
from core.contrast import luminance
from links.branding_forms import BrandingForm
from links.services import configured_connectors

COLOUR_RE = re.compile(r"^[0-9a-f]{6}$")
NEUTRAL_COLOUR = "4a5568"


def text_colour_on(colour: str) -> str:
    """Black or white, whichever reads better on the colour (WCAG relative luminance)."""
    return "#000000" if luminance(colour) > 0.179 else "#ffffff"


def theme_css(colour: str) -> str:
    if not COLOUR_RE.match(colour):
        raise ValueError("not a colour")
    return f":root {{ --brand: #{colour}; --brand-ink: {text_colour_on(colour)}; }}\n"


def brand_context(partner: Partner | None, *, logo_url: str = "") -> dict[str, Any]:
    """What templates/install/base.html shows: the partner's name, colour, logo and support.

    With no partner (an unknown link) the page is neutral: no name at all.
    """
    if partner is None:
        return {"name": "", "colour": NEUTRAL_COLOUR, "logo_url": "", "support_email": ""}
    colour = partner.primary_colour.lstrip("#").lower()
    return {
        "name": partner.brand_name,
        "colour": colour if COLOUR_RE.match(colour) else NEUTRAL_COLOUR,
        "logo_url": logo_url if partner.logo_content_type else "",
        "support_email": partner.support_email,
    }


def logo_response(partner: Partner) -> HttpResponse:
    """The stored logo with its checked content type; never sniffed, never SVG."""
    if not partner.logo or not partner.logo_content_type.startswith("image/"):
        raise Http404("No logo.")
    response = HttpResponse(bytes(partner.logo), content_type=partner.logo_content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=300"
    return response


def save_branding(*, form: BrandingForm, actor: Any) -> Partner:
    """Save a valid Branding form with its audit event (what changed, never the values)."""
    with transaction.atomic():
        changed = form.changed_fields
        partner = form.save()
        audit.record(audit.Action.BRANDING_SAVED, partner=partner, actor=actor, fields=changed)
    return partner


@partner_view
def branding(request: PartnerRequest) -> HttpResponse:
    """The Branding settings page; admins save, viewers only look (403 on POST)."""
    partner = request.partner
    form = BrandingForm(request.POST or None, request.FILES or None, instance=partner)
    if not request.membership.is_admin:  # viewers look: inputs they cannot save are disabled
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        save_branding(form=form, actor=request.user)
        messages.success(request, "Branding saved.")
        return redirect("links:branding")
    return render(request, "links/branding.html", {
        "nav": "branding", "form": form,
        "brand": brand_context(partner, logo_url=reverse("links:branding_logo")),
    })


@require_GET
@partner_view
def branding_logo(request: PartnerRequest) -> HttpResponse:
    return logo_response(request.partner)


@require_GET
@partner_view
def branding_preview(request: PartnerRequest) -> HttpResponse:
    """The install page as customers will see it, with sample content and inert buttons."""
    partner = request.partner
    sample = list(configured_connectors(partner)[:3])
    return render(request, "install/landing.html", {
        "brand": brand_context(partner, logo_url=reverse("links:branding_logo")),
        "preview": True,
        "account_name": "Example customer",
        "rows": [{"connector": c, "install": None} for c in sample],
    })
