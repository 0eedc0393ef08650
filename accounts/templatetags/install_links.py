"""`{% install_links account %}`: the account page's install-link section, self-contained."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.links import state_label
from accounts.models import Account

register = template.Library()


@register.inclusion_tag("accounts/install_links_list.html", takes_context=True)
def install_links(context: dict[str, Any], account: Account) -> dict[str, Any]:
    rows = [{"link": link, "state": state_label(link)}
            for link in account.install_links.select_related("install__connector", "created_by")
            .prefetch_related("connectors")]
    return {"account": account, "rows": rows, "membership": context.get("membership"),
            "csrf_token": context.get("csrf_token")}
