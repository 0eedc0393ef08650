"""Support staff's view of the catalogue and of partners' Authentication Settings.

Encrypted columns are never part of an admin form, list or search: staff see only which
secret field NAMES are set (`secret_summary`). Catalogue rows come from the TOML files
and settings are changed by partners in the console (with an audit event), so both are
read-only here. A partner's custom connectors (`owner` set) are listed with their partner;
partners change them in the console or by API.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django_stubs_ext import WithAnnotations

from connectors.models import Catalogue, Category, Connector, PartnerAuthSettings
from core.admin import ReadOnlyAdmin, secret_summary


class _Counted(TypedDict):
    _connectors: int


@admin.register(Catalogue)
class CatalogueAdmin(ReadOnlyAdmin[Catalogue]):
    """The one row `sync_connectors` moves on: when the catalogue last changed."""

    list_display = ("version", "changed_at")
    fields = ("version", "changed_at", "category_names")
    readonly_fields = fields


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin[Category]):
    list_display = ("name", "connector_count")
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return super().get_queryset(request).annotate(_connectors=Count("connectors"))

    @admin.display(description="connectors", ordering="_connectors")
    def connector_count(self, obj: WithAnnotations[Category, _Counted]) -> int:
        return obj._connectors


@admin.register(Connector)
class ConnectorAdmin(ReadOnlyAdmin[Connector]):
    list_display = ("name", "slug", "owner", "auth_type", "categories_list", "retired_at",
                    "synced_at")
    list_filter = ("auth_type", ("retired_at", admin.EmptyFieldListFilter),
                   ("owner", admin.EmptyFieldListFilter), "categories")
    list_select_related = ("owner",)
    search_fields = ("name", "slug", "search_text", "owner__name")
    fields = ("name", "slug", "owner", "description", "auth_type", "category_names",
              "spec_data", "synced_at", "retired_at")
    readonly_fields = fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retire by removing the catalogue file and syncing; a custom
        # connector is deleted by its partner (connectors/custom.py, audited)

    @admin.display(description="categories")
    def categories_list(self, obj: Connector) -> str:
        return ", ".join(obj.category_names)


@admin.register(PartnerAuthSettings)
class PartnerAuthSettingsAdmin(ReadOnlyAdmin[PartnerAuthSettings]):
    list_display = ("connector", "partner", "saved_at", "saved_by")
    list_filter = (("saved_at", admin.EmptyFieldListFilter), "connector__auth_type")
    list_select_related = ("connector", "partner", "saved_by")
    search_fields = ("partner__name", "partner__slug", "connector__name", "connector__slug")
    fields = ("partner", "connector", "values", "secret_fields", "saved_at", "saved_by")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[PartnerAuthSettings]:
        # The list never decrypts; the change page loads the column for `secret_fields`.
        return super().get_queryset(request).defer("secret_values")

    @admin.display(description="secret values")
    def secret_fields(self, obj: PartnerAuthSettings) -> str:
        return secret_summary(obj.secret_values)
