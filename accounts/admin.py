"""Support staff's admin for people, partners, accounts and installs.

Encrypted columns (install secrets and credentials, auth-attempt secrets, pending
revocations' tokens and values), token hashes
and logos are excluded from every form, list and search; staff see which field NAMES are
set and nothing else. Installs, auth attempts, install links and audit events change
only through the console's services (each writing an audit event), and pending
revocations only through `refresh_tokens`, so they are read-only here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import (
    INSTALL_SECRETS,
    Account,
    AuditEvent,
    AuthAttempt,
    Install,
    InstallLink,
    Membership,
    Partner,
    PendingRevocation,
    User,
)
from accounts.templatetags.audit_events import audit_action
from connectors.admin import ReadOnlyAdmin, secret_summary


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A user with that email already exists.")
        return email


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict[str, Any] = {}


class MembershipInline(admin.StackedInline):
    model = Membership
    extra = 0
    max_num = 1
    autocomplete_fields = ("partner",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin with the email address as the login name."""

    form = UserEditForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups",
                                    "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",),
                             "fields": ("email", "usable_password", "password1", "password2")}),)
    list_display = ("email", "partner", "role", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "membership__role")
    list_select_related = ("membership__partner",)
    search_fields = ("email", "first_name", "last_name", "membership__partner__name")
    ordering = ("email",)
    inlines = (MembershipInline,)

    @admin.display(description="partner", ordering="membership__partner__name")
    def partner(self, obj: User) -> str:
        membership = getattr(obj, "membership", None)
        return membership.partner.name if membership else "—"

    @admin.display(description="role")
    def role(self, obj: User) -> str:
        membership = getattr(obj, "membership", None)
        return membership.get_role_display() if membership else "—"


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "display_name", "support_email", "logo_status",
                    "created_at")
    search_fields = ("name", "slug", "display_name", "support_email")
    prepopulated_fields = {"slug": ("name",)}
    fields = ("name", "slug", "display_name", "primary_colour", "support_email",
              "allowed_return_origins", "allowed_frame_origins", "logo_status", "created_at")
    readonly_fields = ("logo_status", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("logo")

    @admin.display(description="logo")
    def logo_status(self, obj: Partner) -> str:
        return f"set ({obj.logo_content_type})" if obj.logo_content_type else "not set"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "partner", "role", "created_at")
    list_filter = ("role", "partner")
    list_select_related = ("user", "partner")
    search_fields = ("user__email", "partner__name", "partner__slug")
    autocomplete_fields = ("user", "partner")


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id", "partner", "created_at")
    list_filter = ("partner",)
    list_select_related = ("partner",)
    search_fields = ("name", "external_id", "partner__name")
    autocomplete_fields = ("partner",)


@admin.register(Install)
class InstallAdmin(ReadOnlyAdmin):
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

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The list never decrypts; the change page loads the columns for the summaries.
        return super().get_queryset(request).without_secrets()

    @admin.display(description="secret values")
    def secret_fields(self, obj: Install) -> str:
        return secret_summary(obj.secret_values)

    @admin.display(description="credentials")
    def credential_fields(self, obj: Install) -> str:
        return secret_summary(obj.credentials)


@admin.register(AuthAttempt)
class AuthAttemptAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "install", "created_at", "expires_at", "used_at")
    list_filter = (("used_at", admin.EmptyFieldListFilter),)
    list_select_related = ("install__connector", "install__account")
    search_fields = ("install__name", "install__account__name", "install__connector__name")
    # `state` and the request token are live credentials of a pending flow; not shown.
    fields = ("install", "install_link", "secret_fields", "created_by", "created_at",
              "expires_at", "used_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Deferring on the joined install too: select_related would load (and decrypt) it.
        return super().get_queryset(request).defer("secrets", *INSTALL_SECRETS)

    @admin.display(description="secrets")
    def secret_fields(self, obj: AuthAttempt) -> str:
        return secret_summary(obj.secrets)


@admin.register(PendingRevocation)
class PendingRevocationAdmin(ReadOnlyAdmin):
    """Tokens a provider could not revoke yet; `refresh_tokens` retries them."""

    list_display = ("__str__", "partner", "connector", "install", "attempts", "next_attempt_at",
                    "created_at")
    list_filter = ("partner", "connector")
    list_select_related = ("partner", "connector", "install__connector")
    search_fields = ("partner__name", "connector__name", "connector__slug", "install__name")
    fields = ("partner", "connector", "install", "credential_fields", "value_fields", "attempts",
              "next_attempt_at", "last_error", "created_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
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


@admin.register(InstallLink)
class InstallLinkAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "account", "state", "use_count", "expires_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "account__partner")
    list_select_related = ("account",)
    search_fields = ("account__name", "account__external_id", "account__partner__name")
    fields = ("account", "connectors", "install", "return_url", "expires_at", "revoked_at",
              "use_count", "created_by", "created_at")
    readonly_fields = fields


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
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

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer(*INSTALL_SECRETS)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the audit log is append-only

    @admin.display(description="what happened")
    def what(self, event: AuditEvent) -> str:
        return audit_action(event.action)

    @admin.display(description="who", ordering="actor__email")
    def who(self, event: AuditEvent) -> str:
        return str(event.actor) if event.actor else event.actor_label or "system"
