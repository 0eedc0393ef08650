"""Base pieces of the support staff's admin: secrets as names only, read-only models."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from core.fields import is_unreadable


def secret_summary(value: Any) -> str:
    """'consumer_secret: set, other: not set' -- the names in an encrypted dict, never values."""
    if is_unreadable(value):
        return "unreadable (no configured key decrypts it)"
    if not value:
        return "nothing stored"
    return ", ".join(f"{key}: {'set' if item else 'not set'}" for key, item in sorted(
        value.items()))


_M = TypeVar("_M", bound=Model)


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    """Viewable (and, with the permission, deletable) but never added or edited here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

