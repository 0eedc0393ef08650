"""Support staff's view of webhook endpoints, events and deliveries: read-only, and the
signing secrets shown as names only. Endpoints change through the console (audited),
deliveries through the workers."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin, secret_summary
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin[WebhookEndpoint]):
    list_display = ("__str__", "partner", "enabled", "failing_since", "disabled_at")
    list_filter = ("enabled", "partner")
    list_select_related = ("partner",)
    search_fields = ("url", "description", "partner__name")
    fields = ("partner", "url", "description", "event_types", "enabled", "secret_fields",
              "previous_secret_expires_at", "failing_since", "disabled_at", "created_at",
              "updated_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEndpoint]:
        # The list never decrypts; the change page loads the column for the summary.
        return super().get_queryset(request).defer("secrets")

    @admin.display(description="signing secrets")
    def secret_fields(self, obj: WebhookEndpoint) -> str:
        return secret_summary(obj.secrets)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin[WebhookEvent]):
    list_display = ("public_id", "type", "partner", "created_at")
    list_filter = ("type", "partner")
    list_select_related = ("partner",)
    search_fields = ("public_id", "type")
    fields = ("partner", "public_id", "type", "body", "audit_event", "created_at")
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin[WebhookDelivery]):
    list_display = ("__str__", "status", "attempts", "last_status_code", "next_attempt_at",
                    "created_at")
    list_filter = ("status",)
    list_select_related = ("event", "endpoint")
    search_fields = ("event__public_id", "endpoint__url")
    fields = ("event", "endpoint", "status", "attempts", "next_attempt_at", "give_up_at",
              "last_attempt_at", "last_status_code", "last_response_ms", "last_error",
              "last_response_body", "delivered_at", "created_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return super().get_queryset(request).defer("endpoint__secrets")
