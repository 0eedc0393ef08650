"""The console's Webhooks page: endpoints, their signing secrets and delivery logs.

Admins change endpoints; viewers read them (`partner_view` refuses them every POST). A
signing secret is rendered once, on the page that answers its creation or rotation,
never redirected through a message or the session.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from accounts.access import PartnerRequest, admin_view, get_scoped, partner_view
from core.confirm import Confirmation, confirm_page
from core.paging import CappedPaginator
from webhooks import services
from webhooks.forms import EndpointForm
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint

DELIVERY_PAGE_SIZE = 50


def _endpoint(request: PartnerRequest, endpoint_id: int) -> WebhookEndpoint:
    return get_scoped(WebhookEndpoint.objects.filter(partner=request.partner)
                      .select_related("partner"), request, pk=endpoint_id)


@partner_view
def endpoint_list(request: PartnerRequest) -> HttpResponse:
    endpoints = WebhookEndpoint.objects.filter(partner=request.partner).defer("secrets")
    return render(request, "webhooks/endpoint_list.html", {
        "nav": "webhooks", "endpoints": endpoints,
        "disabled": [e for e in endpoints if e.disabled_at and not e.enabled],
    })


@sensitive_variables("endpoint", "secret")
@never_cache
@admin_view
def endpoint_create(request: PartnerRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint, secret = services.create_endpoint(
                partner=request.partner, url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                event_types=form.cleaned_data["event_types"], actor=request.user)
        except services.TooManyEndpoints as refused:
            form.add_error(None, str(refused))
        else:
            return _show_secret(request, endpoint, secret, created=True)
    return render(request, "webhooks/endpoint_form.html", {"nav": "webhooks", "form": form})


@sensitive_variables("secret")
def _show_secret(request: PartnerRequest, endpoint: WebhookEndpoint, secret: str, *,
                 created: bool) -> HttpResponse:
    return render(request, "webhooks/endpoint_secret.html", {
        "nav": "webhooks", "endpoint": endpoint, "secret": secret, "created": created})


@partner_view
def endpoint_detail(request: PartnerRequest, endpoint_id: int) -> HttpResponse:
    """The endpoint's settings and its delivery log (`?failed=1`: those whose last attempt
    failed, given up or retrying)."""
    endpoint = _endpoint(request, endpoint_id)
    failed = request.GET.get("failed") == "1"
    deliveries = endpoint.deliveries.select_related("event").defer("event__body")
    if failed:
        deliveries = deliveries.filter(WebhookDelivery.last_attempt_failed())
    page = CappedPaginator(deliveries, DELIVERY_PAGE_SIZE).get_page(request.GET.get("page"))
    labels = dict(EventType.choices)
    return render(request, "webhooks/endpoint_detail.html", {
        "nav": "webhooks", "endpoint": endpoint, "page": page, "failed": failed,
        "event_labels": [labels[t] for t in endpoint.event_types if t in labels],
    })


@admin_view
def endpoint_edit(request: PartnerRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    initial = {"url": endpoint.url, "description": endpoint.description,
               "event_types": endpoint.event_types, "enabled": endpoint.enabled}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changed = services.update_endpoint(endpoint=endpoint, actor=request.user,
                                           **form.cleaned_data)
        messages.success(request, "Changes saved." if changed else "Nothing changed.")
        return redirect("webhooks:detail", endpoint.pk)
    return render(request, "webhooks/endpoint_form.html",
                  {"nav": "webhooks", "form": form, "endpoint": endpoint})


@sensitive_variables("endpoint", "secret")
@never_cache
@admin_view
def endpoint_rotate(request: PartnerRequest, endpoint_id: int) -> HttpResponse:
    """A confirmation page (GET), then the new secret, shown once (POST)."""
    endpoint = _endpoint(request, endpoint_id)
    if request.method != "POST":
        return confirm_page(request, Confirmation(
            title="Rotate the signing secret",
            consequence=f"A new secret signs every delivery to {endpoint.url} from now on; "
                        "the old one keeps signing beside it for 24 hours, so update your "
                        "receiver within that time. The new secret is shown once.",
            button="Rotate secret", cancel_url=reverse("webhooks:detail", args=[endpoint.pk]),
            breadcrumbs=[("Webhooks", reverse("webhooks:list")),
                         (str(endpoint), reverse("webhooks:detail", args=[endpoint.pk]))],
            nav="webhooks"))
    secret = services.rotate_secret(endpoint=endpoint, actor=request.user)
    return _show_secret(request, endpoint, secret, created=False)


@require_POST
@partner_view
def endpoint_test(request: PartnerRequest, endpoint_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    services.send_test(endpoint=endpoint)
    note = "" if endpoint.enabled else " It is sent once the endpoint is enabled."
    messages.success(request, f"Test event queued: it appears in the log below.{note}")
    return redirect("webhooks:detail", endpoint.pk)


@admin_view
def endpoint_delete(request: PartnerRequest, endpoint_id: int) -> HttpResponse:
    """A confirmation page (GET), then the deletion (POST)."""
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "POST":
        services.delete_endpoint(endpoint=endpoint, actor=request.user)
        messages.success(request, "Webhook endpoint deleted.")
        return redirect("webhooks:list")
    return render(request, "webhooks/endpoint_delete.html",
                  {"nav": "webhooks", "endpoint": endpoint})


@require_POST
@partner_view
def delivery_resend(request: PartnerRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = _endpoint(request, endpoint_id)
    delivery = get_scoped(endpoint.deliveries.all(), request, pk=delivery_id)
    services.resend(delivery=delivery)
    messages.success(request, "Delivery queued again, with the same webhook-id.")
    return redirect("webhooks:detail", endpoint.pk)
