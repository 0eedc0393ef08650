from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.access import partner_view


@partner_view
def library(request: HttpRequest) -> HttpResponse:
    return render(request, "connectors/library.html", {})
