"""Support staff's view of installs, sign-in attempts and pending revocations.

Encrypted columns (install secrets and credentials, auth-attempt secrets, pending
revocations' tokens and values) are excluded from every form, list and search; staff see
which field NAMES are set and nothing else. Installs and auth attempts change only
through the console's services (each writing an audit event), and pending revocations
only through the workers, so they are read-only here.

Deleting an install or an account here -- one, or the bulk "delete selected" action --
goes through `delete_install` / `delete_account`, exactly as the
console does: revoked at the provider (or kept for the workers to retry) and audited.
The account admin lives here rather than in accounts/ because its deletion is an
installs-level write.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.forms import checked_external_id
from accounts.models import Account
from core.admin import ReadOnlyAdmin, secret_summary
from installs.accounts import delete_account
from installs.models import (
    INSTALL_SECRETS,
    AuthAttempt,
    Install,
    InstallQuerySet,
    PendingRevocation,
    Revocation,
)
from installs.removal import delete_install


def report_revocations(admin_: admin.ModelAdmin[Any], request: HttpRequest,
                       outcomes: list[Revocation]) -> None:
    """Say what the providers answered, so staff know a token may still be live."""
    pending = outcomes.count(Revocation.UNAVAILABLE)
    failed = outcomes.count(Revocation.FAILED)
    if pending:
        admin_.message_user(request, f"{pending} token revocation(s) could not reach the "
                            "provider and will be retried by the workers.", messages.WARNING)
    if failed:
        admin_.message_user(request, f"{failed} token revocation(s) were refused by the "
                            "provider; the local credentials are deleted.", messages.WARNING)


class AccountAdminForm(forms.ModelForm[Account]):
    """The console's rule for external ids (accounts.forms.checked_external_id)."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        partner = cleaned.get("partner") or (self.instance.partner if self.instance.pk
                                             else None)
        if partner is not None and cleaned.get("external_id"):
            try:
                cleaned["external_id"] = checked_external_id(
                    cleaned["external_id"], account=self.instance, partner_id=partner.pk)
            except ValidationError as error:
                self.add_error("external_id", error)
        return cleaned


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin[Account]):
    form = AccountAdminForm
    list_display = ("name", "external_id", "partner", "created_at")
    list_filter = ("partner",)
    list_select_related = ("partner",)
    search_fields = ("name", "external_id", "partner__name")
    autocomplete_fields = ("partner",)

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> Any:
        """The partner is chosen when the account is added, never changed: moving an
        account would hand its installs' live tokens to another tenant."""
        return ("partner",) if obj is not None else ()

    def delete_model(self, request: HttpRequest, obj: Account) -> None:
        report_revocations(self, request, delete_account(account=obj,
                                                         actor=request.user))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        outcomes: list[Revocation] = []
        for account in queryset:
            outcomes += delete_account(account=account, actor=request.user)
        report_revocations(self, request, outcomes)


@admin.register(Install)
class InstallAdmin(ReadOnlyAdmin[Install]):
    list_display = ("__str__", "account", "connector", "status", "expires_at",
                    "refresh_failures", "updated_at")
    list_filter = ("status", "connector__auth_type", "account__partner")
    list_select_related = ("account__partner", "connector")
    search_fields = ("name", "account__name", "account__external_id", "account__partner__name",
                     "connector__name", "connector__slug")
    fields = ("account", "connector", "name", "status", "values", "secret_fields",
              "credential_fields", "expires_at", "last_error", "refresh_failures",
              "next_refresh_at", "authenticated_at", "last_refreshed_at", "created_by",
              "created_at", "updated_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Install]:
        # The list never decrypts; the change page loads the columns for the summaries.
        # The default manager's queryset, which the stubs type as a plain QuerySet.
        return cast(InstallQuerySet, super().get_queryset(request)).without_secrets()

    @admin.display(description="secret values")
    def secret_fields(self, obj: Install) -> str:
        return secret_summary(obj.secret_values)

    def delete_model(self, request: HttpRequest, obj: Install) -> None:
        report_revocations(self, request, [delete_install(install=obj,
                                                          actor=request.user)])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Install]) -> None:
        report_revocations(self, request, [delete_install(install=install,
                                                          actor=request.user)
                                           for install in queryset])

    @admin.display(description="credentials")
    def credential_fields(self, obj: Install) -> str:
        return secret_summary(obj.credentials)


@admin.register(AuthAttempt)
class AuthAttemptAdmin(ReadOnlyAdmin[AuthAttempt]):
    list_display = ("__str__", "install", "created_at", "expires_at", "used_at")
    list_filter = (("used_at", admin.EmptyFieldListFilter),)
    list_select_related = ("install__connector", "install__account")
    search_fields = ("install__name", "install__account__name", "install__connector__name")
    # `state` and the request token are live credentials of a pending flow; not shown.
    fields = ("install", "install_link", "secret_fields", "created_by", "created_at",
              "expires_at", "used_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuthAttempt]:
        # Deferring on the joined install too: select_related would load (and decrypt) it.
        return super().get_queryset(request).defer("secrets", *INSTALL_SECRETS)

    @admin.display(description="secrets")
    def secret_fields(self, obj: AuthAttempt) -> str:
        return secret_summary(obj.secrets)


@admin.register(PendingRevocation)
class PendingRevocationAdmin(ReadOnlyAdmin[PendingRevocation]):
    """Tokens a provider could not revoke yet; `refresh_tokens` retries them."""

    list_display = ("__str__", "partner", "connector", "install", "attempts", "next_attempt_at",
                    "created_at")
    list_filter = ("partner", "connector")
    list_select_related = ("partner", "connector", "install__connector")
    search_fields = ("partner__name", "connector__name", "connector__slug", "install__name")
    fields = ("partner", "connector", "install", "credential_fields", "value_fields", "attempts",
              "next_attempt_at", "last_error", "created_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[PendingRevocation]:
        # The list never decrypts; the change page loads the columns for the summaries.
        return super().get_queryset(request).defer("credentials", "values", *INSTALL_SECRETS)

    @admin.display(description="credentials")
    def credential_fields(self, obj: PendingRevocation) -> str:
        return secret_summary(obj.credentials)

    @admin.display(description="values")
    def value_fields(self, obj: PendingRevocation) -> str:
        return secret_summary(obj.values)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # dropping one would leave a token live unaudited; the worker ends them
