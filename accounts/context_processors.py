from __future__ import annotations

from django.http import HttpRequest


def membership(request: HttpRequest) -> dict[str, object]:
    """The membership `partner_view` loaded, for navigation; costs no query."""
    member = getattr(request, "membership", None)
    return {"membership": member, "partner": getattr(member, "partner", None)}
