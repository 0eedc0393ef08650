"""`{% install_links account %}`: the account page's install-link section, self-contained."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import Account
from installs.models import INSTALL_SECRETS
from links.services import state_label

register = template.Library()


@register.inclusion_tag("links/_list.html", takes_context=True)
def install_links(context: dict[str, Any], account: Account) -> dict[str, Any]:
    found = (account.install_links.select_related("install__connector", "created_by")
             .defer(*INSTALL_SECRETS).prefetch_related("connectors"))
    rows = [{"link": link, "state": state_label(link)} for link in found]
    return {"account": account, "rows": rows, "membership": context.get("membership"),
            "csrf_token": context.get("csrf_token")}
