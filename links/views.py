"""Console views for install links: create one for an account (shown once), revoke one."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from accounts.access import PartnerRequest, admin_view, get_account, get_scoped
from core.confirm import Confirmation, confirm_page
from links import services as links
from links.forms import InstallLinkForm
from links.models import InstallLink


@never_cache
@admin_view
def link_create(request: PartnerRequest, account_id: int) -> HttpResponse:
    """The "Create install link" form; on success the URL is shown this once, never again."""
    account = get_account(request, account_id)
    initial = {"install": request.GET.get("install")} if request.method == "GET" else None
    form = InstallLinkForm(request.POST or None, account=account, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            link, token = links.create_link(
                account=account, connectors=form.cleaned_data["connectors"],
                expires_in=form.expires_in, return_url=form.cleaned_data["return_url"],
                install=form.cleaned_data["install"], actor=request.user,
                scopes=form.link_scopes(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # Rendered, not redirected: the token must not travel through a message
            # cookie or the session store.
            return render(request, "links/created.html", {
                "nav": "accounts", "account": account, "link": link,
                "url": links.link_url(token),
            })
    return render(request, "links/new.html",
                  {"nav": "accounts", "account": account, "form": form})


@admin_view
def link_revoke(request: PartnerRequest, account_id: int, link_id: int) -> HttpResponse:
    """A confirmation page (GET), then the revocation (POST)."""
    account = get_account(request, account_id)
    link = get_scoped(InstallLink.objects.filter(account=account).select_related(
        "account__partner"), request, pk=link_id)
    if request.method != "POST":
        created = link.created_at.strftime("%Y-%m-%d %H:%M")
        return confirm_page(request, Confirmation(
            title="Revoke this install link",
            consequence=f"The install link for {account.name} created {created} UTC stops "
                        "opening at once; a customer who has it sees “Link revoked”. "
                        "Installs already made through it stay.",
            button="Revoke", cancel_url=reverse("accounts:detail", args=[account.pk]),
            breadcrumbs=[("Accounts", reverse("accounts:list")),
                         (account.name, reverse("accounts:detail", args=[account.pk]))],
            nav="accounts"))
    if links.revoke_link(link=link, actor=request.user):
        messages.success(request, "Install link revoked. It no longer opens.")
    else:
        messages.info(request, "That install link was already revoked.")
    return redirect("accounts:detail", account.pk)
