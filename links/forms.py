"""The console form that creates an install link for one account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import Account
from connectors.forms import ScopesField, has_scopes
from connectors.models import Connector
from core.forms import ConsoleForm
from installs.models import Install
from links.models import InstallLink
from links.services import configured_connectors, validate_return_url

MAX_MINUTES = int(InstallLink.MAX_LIFETIME.total_seconds() // 60)
DEFAULT_MINUTES = int(InstallLink.DEFAULT_LIFETIME.total_seconds() // 60)


class InstallChoiceField(forms.ModelChoiceField[Install]):
    """The install to reconnect, each shown with its status."""

    def label_from_instance(self, obj: Install) -> str:
        return f"{obj.display_name} ({obj.get_status_display()})"


class InstallLinkForm(ConsoleForm):
    connectors: forms.ModelMultipleChoiceField[Connector] = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
        label="Connectors the customer may connect",
        help_text="Only connectors whose Authentication Settings are saved can be offered.",
    )
    expires_minutes = forms.IntegerField(
        label="Expires after (minutes)", initial=DEFAULT_MINUTES, min_value=1,
        max_value=MAX_MINUTES, help_text="At most 7 days (10080 minutes).",
    )
    return_url = forms.CharField(
        label="Return URL", required=False, max_length=500, strip=True,
        help_text="Optional. Where the customer goes afterwards; must be on one of the "
                  "allowed return URLs in Branding.",
        widget=forms.URLInput(attrs={"spellcheck": "false"}),
    )
    install = InstallChoiceField(
        queryset=None, required=False, label="Reconnect an existing install",
        empty_label="No: new installs",
        help_text="Optional. The customer then reauthenticates this install in place.",
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        choices = configured_connectors(account.partner).order_by("name")
        connectors_field = cast("forms.ModelMultipleChoiceField[Connector]",
                                self.fields["connectors"])
        connectors_field.queryset = choices
        self.configured = list(choices)  # all offered, all checked at first
        connectors_field.initial = self.configured
        install_field = cast("InstallChoiceField", self.fields["install"])
        install_field.queryset = (Install.objects.without_secrets()
                                  .filter(account=account).select_related("connector"))
        # "Advanced": per OAuth 2.0 / client-credentials connector, the scopes new installs
        # through the link request (blank: the Authentication Settings').
        self.scope_names = {f"scopes__{c.slug}": c.slug for c in self.configured
                            if has_scopes(c.spec)}
        for name, slug in self.scope_names.items():
            connector = next(c for c in self.configured if c.slug == slug)
            self.fields[name] = ScopesField(
                label=f"Scopes for {connector.name}",
                help_text="Separated by spaces. Blank: those of its Authentication Settings.")

    def clean_return_url(self) -> str:
        # Django's CharField has already refused NUL characters and stripped the URL.
        return validate_return_url(self.cleaned_data["return_url"], self.account.partner)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data  # what Form.clean returns (its stubs allow None)
        if not cleaned.get("connectors") and not cleaned.get("install") and not self.errors:
            raise ValidationError("Choose at least one connector, or an install to reconnect.")
        return cleaned

    def scope_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.scope_names]

    def has_scope_errors(self) -> bool:
        return any(name in self.errors for name in self.scope_names)

    def link_scopes(self) -> dict[str, list[str]]:
        """The scopes entered, by slug, for the connectors the link offers."""
        offered = {c.slug for c in self.cleaned_data.get("connectors") or ()}
        install = self.cleaned_data.get("install")
        if install is not None:
            offered.add(install.connector.slug)
        return {slug: self.cleaned_data[name] for name, slug in self.scope_names.items()
                if slug in offered and self.cleaned_data.get(name)}

    @property
    def expires_in(self) -> timedelta:
        return timedelta(minutes=self.cleaned_data["expires_minutes"])
