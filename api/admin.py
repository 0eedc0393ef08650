"""Support staff's view of API keys (hashes are never shown)."""

from __future__ import annotations

from django.contrib import admin

from api.models import ApiKey
from core.admin import ReadOnlyAdmin


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin[ApiKey]):
    list_display = ("name", "partner", "prefix", "scopes", "created_at", "last_used_at",
                    "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "partner")
    list_select_related = ("partner",)
    search_fields = ("name", "prefix", "partner__name")
    fields = ("partner", "name", "prefix", "scopes", "created_by", "created_at",
              "last_used_at", "revoked_at")
    readonly_fields = fields
