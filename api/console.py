"""The console's "API keys" page: list (everyone), create and revoke (admins)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from accounts.access import PartnerRequest, admin_view, get_scoped, partner_view
from api import services
from api.forms import ApiKeyForm
from api.models import ApiKey
from core.confirm import Confirmation, confirm_page


@never_cache
@partner_view
def key_list(request: PartnerRequest) -> HttpResponse:
    """The keys, and "Create API key" (a POST: admins only). A new key is rendered, not
    redirected to: it must not travel through a message cookie or the session store."""
    form = ApiKeyForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        key, token = services.create_key(partner=request.partner, actor=request.user,
                                         **form.cleaned_data)
        return render(request, "api/key_created.html", {"nav": "api_keys", "key": key,
                                                        "token": token})
    keys = ApiKey.objects.filter(partner=request.partner).select_related("created_by")
    return render(request, "api/key_list.html", {"nav": "api_keys", "keys": keys,
                                                 "form": form})


@admin_view
def key_revoke(request: PartnerRequest, key_id: int) -> HttpResponse:
    """A confirmation page (GET), then the revocation (POST)."""
    key = get_scoped(ApiKey.objects.filter(partner=request.partner).select_related("partner"),
                     request, pk=key_id)
    if request.method != "POST":
        return confirm_page(request, Confirmation(
            title=f"Revoke API key “{key.name}”",
            consequence="Every request with this key gets 401 from now on. A revoked key "
                        "cannot be restored: create a new one if you need access again.",
            button="Revoke", cancel_url=reverse("api_keys:list"),
            breadcrumbs=[("API keys", reverse("api_keys:list"))], nav="api_keys"))
    if services.revoke_key(key=key, actor=request.user):
        messages.success(request, f"API key “{key.name}” revoked. Requests with it now get 401.")
    else:
        messages.info(request, "That API key was already revoked.")
    return redirect("api_keys:list")
