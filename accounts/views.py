"""Console views for accounts and installs. (Being built: placeholders are replaced.)"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import partner_view


@partner_view
def account_list(request: HttpRequest) -> HttpResponse:
    return render(request, "base.html", {"nav": "accounts"})


@partner_view
def needs_attention(request: HttpRequest) -> HttpResponse:
    return render(request, "base.html", {"nav": "attention"})


@partner_view
def branding(request: HttpRequest) -> HttpResponse:
    return render(request, "base.html", {"nav": "branding"})
