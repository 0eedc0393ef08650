from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from core.health import worker_missing


def membership(request: HttpRequest) -> dict[str, object]:
    """The membership `partner_view` loaded, for navigation; costs no query."""
    member = getattr(request, "membership", None)
    # The header's partner switcher: the user's partners as the login (or joining one)
    # remembered them in the session (teams.members.remember_partners); empty with one partner.
    choices = request.session.get("teams_partners", []) if member is not None else []
    return {"membership": member, "partner": getattr(member, "partner", None),
            "partner_choices": choices,
            # A callable: the template asks it only for admins (base.html's banner).
            "worker_missing": worker_missing, "docs_url": settings.DOCS_URL}
