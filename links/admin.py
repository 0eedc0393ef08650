"""Support staff's view of install links (token hashes are never shown)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from links.models import InstallLink


@admin.register(InstallLink)
class InstallLinkAdmin(ReadOnlyAdmin[InstallLink]):
    list_display = ("__str__", "account", "state", "use_count", "expires_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "account__partner")
    list_select_related = ("account",)
    search_fields = ("account__name", "account__external_id", "account__partner__name")
    readonly_fields = ("account", "connectors", "install", "return_url", "expires_at",
                       "revoked_at", "use_count", "created_by", "created_at")
    fieldsets = ((None, {"fields": readonly_fields,
                         "description": "Revoke install links in the console, on the account's "
                                        "page: revoking is audited and also stops the sign-ins "
                                        "a link has started. They are not deleted here."}),)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Revoke links in the console (the account's page): revoking is audited and stops
        # the sign-ins a link started, whereas a deleted link's attempts would lose it.
        return False
