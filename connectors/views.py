"""Console pages of the catalogue: the Application Connector Library, Authentication
Settings per connector, and the connector guides."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.access import PartnerRequest, get_scoped, partner_view
from connectors.cards import CARD_COLUMNS, cached_listing, render_cards
from connectors.forms import AuthSettingsForm, ConnectorSearchForm, LibraryFilterForm
from connectors.models import Catalogue, Connector, PartnerAuthSettings
from connectors.services import (
    callback_url,
    save_auth_settings,
    shared_callback_url,
    use_own_callback,
)
from core.paging import page_of

PAGE_SIZE = 48


LIBRARY_LISTING = ("connectors/_library_listing.html", "connectors/_library_card.html",
                   "connectors/_pagination.html")
GUIDES_LISTING = ("connectors/_guides_listing.html", "connectors/_guide_card.html",
                  "connectors/_pagination.html")


@partner_view
def library(request: PartnerRequest) -> HttpResponse:
    """The catalogue with the partner's padlocks: the catalogue's version, then -- unless
    this process has the listing for that version already -- the page with its count."""
    catalogue = Catalogue.current()
    partner = request.partner

    def listing() -> dict[str, Any]:
        form = LibraryFilterForm(request.GET, categories=catalogue.category_names)
        connectors = form.filter(
            Connector.objects.active(partner).with_configured(partner).only(*CARD_COLUMNS))
        page = page_of(connectors, request.GET.get("page"), PAGE_SIZE)
        cards = render_cards(LIBRARY_LISTING[1], page,
                             vary=lambda connector: (connector.is_configured,))  # type: ignore[attr-defined]  # with_configured() annotates it
        return {"form": form, "page": page, "cards": cards}

    return render(request, "connectors/library.html", {
        "listing": cached_listing(
            request, LIBRARY_LISTING, context=listing,
            versions=(catalogue.version, partner.pk, partner.auth_settings_version)),
        "nav": "connectors",
    })


@sensitive_post_parameters()
@partner_view
def auth_settings(request: PartnerRequest, slug: str) -> HttpResponse:
    """The partner's Authentication Settings for one connector (admins save, viewers read)."""
    connector = get_scoped(Connector.objects.active(request.partner), request, slug=slug)
    saved = PartnerAuthSettings.objects.for_partner(request.partner).filter(
        connector=connector).first()
    form = AuthSettingsForm(request.POST if request.method == "POST" else None,
                            spec=connector.spec, saved=saved,
                            read_only=not request.membership.is_admin)
    if form.is_valid():
        save_auth_settings(partner=request.partner, connector=connector, user=request.user,
                           cleaned=form.cleaned_data)
        messages.success(request, "Authentication Settings saved.")
        return redirect("connectors:settings", slug=connector.slug)
    return render(request, "connectors/settings.html", {
        "connector": connector, "form": form, "saved": saved,
        "callback_url": callback_url(connector.slug), "nav": "connectors",
        "shared_callback": shared_callback_url() if saved and saved.shared_callback
        and connector.uses_callback else "",
    })


@require_POST
@partner_view
def switch_callback(request: PartnerRequest, slug: str) -> HttpResponse:
    """"Use the new Callback URL": the partner has registered the connector's own callback
    URL with the provider; its sign-ins stop using the shared one (admins only)."""
    connector = get_scoped(Connector.objects.active(request.partner), request, slug=slug)
    use_own_callback(partner=request.partner, connector=connector, user=request.user)
    messages.success(request, f"Sign-ins now use the Callback URL {callback_url(slug)}.")
    return redirect("connectors:settings", slug=connector.slug)


@partner_view
def guides(request: PartnerRequest) -> HttpResponse:
    """The "Connector guides" index, searchable like the library and cached like it."""
    def listing() -> dict[str, Any]:
        form = ConnectorSearchForm(request.GET)
        connectors = form.filter(Connector.objects.active(request.partner).only(*CARD_COLUMNS))
        page = page_of(connectors, request.GET.get("page"), PAGE_SIZE)
        return {"form": form, "page": page,
                "cards": render_cards(GUIDES_LISTING[1], page)}

    return render(request, "connectors/guides.html", {
        "listing": cached_listing(request, GUIDES_LISTING, context=listing,
                                  versions=(Catalogue.current().version, request.partner.pk)),
        "nav": "guides",
    })


@partner_view
def guide(request: PartnerRequest, slug: str) -> HttpResponse:
    """One connector's Authentication Setup Guide, from its `[guide]` text and fields."""
    connector = get_scoped(Connector.objects.active(request.partner), request, slug=slug)
    return render(request, "connectors/guide.html", {
        "connector": connector, "spec": connector.spec,
        "callback_url": callback_url(connector.slug),
        "nav": "guides",
    })
