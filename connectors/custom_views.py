"""Console pages of a partner's custom connectors (Connectors › Custom connectors): admins
create, edit, retire and delete; viewers read. Another partner's slug is a 404."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.access import PartnerRequest, admin_view, get_scoped, partner_view
from audit.models import Action, AuditEvent
from connectors import custom
from connectors.custom_forms import (
    CustomConnectorForm,
    StartFromForm,
    TomlForm,
    as_toml,
    put_errors,
)
from connectors.issuer_discovery import DiscoveryError, discover
from connectors.models import Connector

AUDIT_ROWS = 20
CHANGES = (Action.CONNECTOR_CREATED, Action.CONNECTOR_UPDATED, Action.CONNECTOR_RETIRED)


def _own(request: PartnerRequest, slug: str) -> Connector:
    return get_scoped(Connector.objects.custom(request.partner), request, slug=slug)


def _catalogue_choices() -> list[tuple[str, str]]:
    return [(c.slug, c.name) for c in Connector.objects.active(None).only("slug", "name")]


@partner_view
def custom_list(request: PartnerRequest) -> HttpResponse:
    connectors = (Connector.objects.custom(request.partner)
                  .annotate(install_count=Count("installs")).order_by("name"))
    return render(request, "connectors/custom_list.html", {
        "connectors": connectors, "nav": "connectors"})


def _created(request: PartnerRequest, data: dict[str, Any], form: Any, fallback: str | None,
             ) -> HttpResponse | None:
    try:
        connector = custom.create(partner=request.partner, data=data, actor=request.user)
    except custom.DefinitionError as error:
        put_errors(form, error, fallback=fallback)
        return None
    messages.success(request, f"Custom connector {connector.name} created. Save its "
                              "Authentication Settings to offer it.")
    return redirect("connectors:settings", slug=connector.slug)


@admin_view
def custom_new(request: PartnerRequest) -> HttpResponse:
    """"New custom connector": the form (with Discover), Start from a catalogue connector,
    or Paste TOML -- each validated by the catalogue's models when it is saved."""
    form = CustomConnectorForm(prefix="form")
    toml_form = TomlForm(prefix="toml")
    start = StartFromForm(request.GET or None, choices=_catalogue_choices(), prefix="start")
    if request.method == "GET" and start.is_valid():
        source = Connector.objects.active(None).get(slug=start.cleaned_data["connector"])
        toml_form = TomlForm(prefix="toml", initial={
            "slug": f"my-{source.slug}"[:63], "toml": as_toml(source.spec_data)})
    elif request.method == "POST" and "toml-toml" in request.POST:
        toml_form = TomlForm(request.POST, prefix="toml")
        if toml_form.is_valid():
            done = _created(request, toml_form.definition(), toml_form, "toml")
            if done:
                return done
    elif request.method == "POST":
        form = CustomConnectorForm(request.POST, prefix="form")
        if "discover" in request.POST:
            form = _discovered(form)
        elif form.is_valid():
            done = _created(request, form.definition(), form, None)
            if done:
                return done
    return render(request, "connectors/custom_new.html", {
        "form": form, "toml_form": toml_form, "start": start, "nav": "connectors"})


def _discovered(form: CustomConnectorForm) -> CustomConnectorForm:
    """The form again, its endpoints filled from the issuer's metadata (nothing saved)."""
    issuer = form.data.get("form-issuer", "").strip()
    try:
        auth = discover(issuer).auth
    except DiscoveryError as error:
        form.is_valid()
        form.add_error("issuer", str(error))
        return form
    return CustomConnectorForm(form.with_discovered(auth), prefix="form")


@partner_view
def custom_detail(request: PartnerRequest, slug: str) -> HttpResponse:
    """One custom connector's definition: read (viewers) or edited as TOML (admins)."""
    connector = _own(request, slug)
    form = TomlForm(request.POST if request.method == "POST" else None, editing=connector,
                    prefix="toml")
    if request.method == "POST" and form.is_valid():
        try:
            custom.update(connector=connector, data=form.definition(), actor=request.user)
        except custom.DefinitionError as error:
            put_errors(form, error, fallback="toml")
        else:
            messages.success(request, f"Custom connector {connector.name} saved.")
            return redirect("connectors:custom_detail", slug=connector.slug)
    events = (AuditEvent.objects.filter(partner=request.partner, connector=connector,
                                        action__in=CHANGES).select_related("actor")[:AUDIT_ROWS])
    return render(request, "connectors/custom_detail.html", {
        "connector": connector, "form": form, "definition": as_toml(connector.spec_data),
        "installs": connector.installs.count(), "events": events, "nav": "connectors"})


@require_POST
@admin_view
def custom_retire(request: PartnerRequest, slug: str) -> HttpResponse:
    connector = _own(request, slug)
    if request.POST.get("restore"):
        custom.restore(connector=connector, actor=request.user)
        messages.success(request, f"{connector.name} is offered again.")
    else:
        custom.retire(connector=connector, actor=request.user)
        messages.success(request, f"{connector.name} is retired: hidden from the library and "
                                  "from new installs; its installs keep working.")
    return redirect("connectors:custom_detail", slug=connector.slug)


@admin_view
def custom_delete(request: PartnerRequest, slug: str) -> HttpResponse:
    connector = _own(request, slug)
    if request.method == "POST":
        try:
            custom.delete(connector=connector, actor=request.user)
        except custom.InUse as error:
            messages.error(request, str(error))
            return redirect("connectors:custom_detail", slug=connector.slug)
        messages.success(request, f"Custom connector {connector.name} deleted.")
        return redirect("connectors:custom_list")
    return render(request, "_confirm.html", {"confirm": {
        "title": f"Delete {connector.name}",
        "consequence": "Its definition and Authentication Settings are deleted; the audit log "
                       "keeps its slug. A connector with installs cannot be deleted: retire it.",
        "button": "Delete", "cancel_url": reverse("connectors:custom_detail", args=[slug]),
        "breadcrumbs": [("Custom connectors", reverse("connectors:custom_list"))],
    }, "nav": "connectors"})
