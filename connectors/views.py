"""Console pages of the catalogue: the Application Connector Library, Authentication
Settings per connector, and the connector guides."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters

from accounts.access import PartnerRequest, get_scoped, partner_view
from connectors.cards import CARD_COLUMNS, render_cards
from connectors.forms import AuthSettingsForm, ConnectorSearchForm, LibraryFilterForm
from connectors.models import Category, Connector, PartnerAuthSettings
from connectors.services import callback_url, save_auth_settings
from core.paging import page_of

PAGE_SIZE = 48


@partner_view
def library(request: PartnerRequest) -> HttpResponse:
    """The catalogue with the partner's padlocks, in a constant number of queries."""
    categories = list(Category.objects.values_list("name", flat=True))
    form = LibraryFilterForm(request.GET, categories=categories)
    connectors = form.filter(
        Connector.objects.active().with_configured(request.partner).only(*CARD_COLUMNS))
    page = page_of(connectors, request.GET.get("page"), PAGE_SIZE)
    cards = render_cards("connectors/_library_card.html", page,
                         vary=lambda connector: (connector.is_configured,))  # type: ignore[attr-defined]  # with_configured() annotates it
    return render(request, "connectors/library.html",
                  {"form": form, "page": page, "cards": cards, "nav": "connectors"})


@sensitive_post_parameters()
@partner_view
def auth_settings(request: PartnerRequest, slug: str) -> HttpResponse:
    """The partner's Authentication Settings for one connector (admins save, viewers read)."""
    connector = get_scoped(Connector.objects.active(), request, slug=slug)
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
        "callback_url": callback_url(), "nav": "connectors",
    })


@partner_view
def guides(request: PartnerRequest) -> HttpResponse:
    """The "Connector guides" index, searchable like the library."""
    form = ConnectorSearchForm(request.GET)
    connectors = form.filter(Connector.objects.active().only(*CARD_COLUMNS))
    page = page_of(connectors, request.GET.get("page"), PAGE_SIZE)
    return render(request, "connectors/guides.html", {
        "form": form, "page": page, "cards": render_cards("connectors/_guide_card.html", page),
        "nav": "guides",
    })


@partner_view
def guide(request: PartnerRequest, slug: str) -> HttpResponse:
    """One connector's Authentication Setup Guide, from its `[guide]` text and fields."""
    connector = get_scoped(Connector.objects.active(), request, slug=slug)
    return render(request, "connectors/guide.html", {
        "connector": connector, "spec": connector.spec, "callback_url": callback_url(),
        "nav": "guides",
    })
