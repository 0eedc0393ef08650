"""Invitations for support staff: read only, never the token (only its hash is stored,
and that is not shown either)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from teams.models import Invitation


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin[Invitation]):
    list_display = ("email", "partner", "role", "state", "invited_by", "sent_at", "expires_at")
    list_filter = ("role", "partner")
    list_select_related = ("partner", "invited_by")
    search_fields = ("email", "partner__name")
    fields = ("partner", "email", "role", "state", "invited_by", "created_at", "sent_at",
              "expires_at", "accepted_at", "accepted_by", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# django-otp's own admin pages show the TOTP secret (and a QR code of it) and the recovery
# codes in clear: support staff never see either. A member who lost both turns it off by
# asking a superuser, who removes the devices in the shell or with the user's deletion.
for _device in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device):
        admin.site.unregister(_device)
