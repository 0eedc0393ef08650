"""Support staff's view of the audit log: read-only, append-only, never a secret."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.models import AuditEvent, action_label
from core.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin[AuditEvent]):
    list_display = ("created_at", "what", "action", "partner", "who", "account", "install",
                    "connector")
    list_filter = ("action", "partner")
    list_select_related = ("partner", "actor", "account", "install__connector", "connector")
    search_fields = ("action", "actor__email", "actor_label", "partner__name", "account__name",
                     "connector__name")
    date_hierarchy = "created_at"
    fields = ("created_at", "action", "partner", "actor", "actor_label", "account", "install",
              "connector", "detail")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        # The joined install's encrypted columns are never loaded (or decrypted).
        return super().get_queryset(request).defer("install__secret_values",
                                                   "install__credentials")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the audit log is append-only

    @admin.display(description="what happened")
    def what(self, event: AuditEvent) -> str:
        return action_label(event.action)

    @admin.display(description="who", ordering="actor__email")
    def who(self, event: AuditEvent) -> str:
        return str(event.actor) if event.actor else event.actor_label or "system"
