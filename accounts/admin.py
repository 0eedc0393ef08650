"""Support staff's admin for people, partners and accounts.

Logos are excluded from every form, list and search. Accounts and installs
(installs/admin.py: deleting them revokes at the provider through the installs services),
install links (links/admin.py) and audit events (audit/admin.py) have their own.

Only superusers change people (users, passwords, `is_staff`, `is_superuser`) and
memberships: staff with `change_user` could otherwise set a partner admin's password, or
join a partner as its admin, and log in to its console.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import Membership, Partner, User
from core.origins import parse_origin_list


class SuperuserChangesOnly:
    """Staff may view (with the permission); only superusers add, change or delete."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


class UserCreationForm(AdminUserCreationForm[User]):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A user with that email already exists.")
        return email


class UserEditForm(UserChangeForm[User]):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: dict[str, Any] = {}


class MembershipInline(SuperuserChangesOnly, admin.StackedInline[Membership, User]):
    model = Membership
    extra = 0
    autocomplete_fields = ("partner",)


@admin.register(User)
class UserAdmin(SuperuserChangesOnly, DjangoUserAdmin[User]):
    """Django's user admin with the email address as the login name (the password change
    page asks `has_change_permission` too)."""

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
    list_filter = ("is_staff", "is_superuser", "is_active", "memberships__role")
    list_select_related = ("current_membership__partner",)
    search_fields = ("email", "first_name", "last_name", "memberships__partner__name")
    ordering = ("email",)
    inlines = (MembershipInline,)

    @admin.display(description="partner", ordering="current_membership__partner__name")
    def partner(self, obj: User) -> str:
        membership = obj.current_membership
        return membership.partner.name if membership else "—"

    @admin.display(description="role")
    def role(self, obj: User) -> str:
        membership = obj.current_membership
        return membership.get_role_display() if membership else "—"


class PartnerAdminForm(forms.ModelForm[Partner]):
    """The origin lists are checked by the Branding page's parser: a `;`, a `*`, a
    non-list or a non-origin is a form error, never a stored CSP directive."""

    class Meta:
        model = Partner
        fields = ["name", "slug", "display_name", "primary_colour", "support_email",
                  "allowed_return_origins", "allowed_frame_origins"]

    def clean_allowed_return_origins(self) -> list[str]:
        return self._origins("allowed_return_origins")

    def clean_allowed_frame_origins(self) -> list[str]:
        return self._origins("allowed_frame_origins")

    def _origins(self, name: str) -> list[str]:
        value = self.cleaned_data[name]
        return parse_origin_list([] if value is None else value)  # None: left empty


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin[Partner]):
    form = PartnerAdminForm
    list_display = ("name", "slug", "display_name", "support_email", "logo_status",
                    "created_at")
    search_fields = ("name", "slug", "display_name", "support_email")
    prepopulated_fields = {"slug": ("name",)}
    fields = ("name", "slug", "display_name", "primary_colour", "support_email",
              "allowed_return_origins", "allowed_frame_origins", "logo_status", "created_at")
    readonly_fields = ("logo_status", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Partner]:
        return super().get_queryset(request).defer("logo")

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, ...]:
        """A partner with accounts is protected: its installs' tokens would stay live at the
        providers, unaudited. Delete its accounts first (each revokes its installs). So is
        one with token revocations still pending (the cascade would drop them; a custom
        connector's would even make the delete fail, as they PROTECT their connector)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        with_accounts = [p for p in objs if p.accounts.exists()]
        refusals = [*(f"{p}: delete its accounts first, which revokes their installs at the "
                      "providers" for p in with_accounts), *self._pending_revocations(objs)]
        if refusals:  # what to do first, rather than the models the cascade would reach
            perms_needed = set()
        return deleted, counts, perms_needed, [*self._without_revocations(protected),
                                               *refusals]

    @staticmethod
    def _pending_revocations(objs: Any) -> list[str]:
        """Tokens the workers still have to revoke: the cascade would drop them live (and a
        custom connector's revocation PROTECTs the connector, so the delete would fail)."""
        refusals = []
        for partner in objs:
            pending = partner.pending_revocations.count()
            if pending:
                refusals.append(
                    f"{partner}: {pending} token revocation(s) are still pending at the "
                    "providers. The worker retries them for about half a day; delete the "
                    "partner once they are done.")
        return refusals

    @staticmethod
    def _without_revocations(protected: list[Any]) -> list[Any]:
        """Django's own protected list names each pending revocation row: said once, above."""
        return [item for item in protected
                if getattr(item, "_meta", None) is None
                or item._meta.label != "installs.PendingRevocation"]

    @admin.display(description="logo")
    def logo_status(self, obj: Partner) -> str:
        return f"set ({obj.logo_content_type})" if obj.logo_content_type else "not set"


@admin.register(Membership)
class MembershipAdmin(SuperuserChangesOnly, admin.ModelAdmin[Membership]):
    list_display = ("user", "partner", "role", "created_at")
    list_filter = ("role", "partner")
    list_select_related = ("user", "partner")
    search_fields = ("user__email", "partner__name", "partner__slug")
    autocomplete_fields = ("user", "partner")
