"""Support staff's view of install links (token hashes are never shown)."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from links.models import InstallLink


@admin.register(InstallLink)
class InstallLinkAdmin(ReadOnlyAdmin[InstallLink]):
    list_display = ("__str__", "account", "state", "use_count", "expires_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "account__partner")
    list_select_related = ("account",)
    search_fields = ("account__name", "account__external_id", "account__partner__name")
    fields = ("account", "connectors", "install", "return_url", "expires_at", "revoked_at",
              "use_count", "created_by", "created_at")
    readonly_fields = fields
