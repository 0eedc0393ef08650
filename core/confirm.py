"""Confirmation pages for destructive console actions.

Every destructive action is two requests: a GET of its URL shows what will happen and a
form that POSTs to the same URL; only that POST acts. The buttons that lead there are
plain links, so nothing happens on the first click, and no JavaScript is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@dataclass(frozen=True)
class Confirmation:
    """What a confirmation page says: "<title>?", what happens, and the button's word."""

    title: str
    consequence: str
    button: str
    cancel_url: str
    breadcrumbs: Sequence[tuple[str, str]] = field(default_factory=tuple)
    nav: str = ""


def confirm_page(request: HttpRequest, confirmation: Confirmation) -> HttpResponse:
    return render(request, "_confirm.html", {"confirm": confirmation, "nav": confirmation.nav})
