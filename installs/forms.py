"""The install form: the values an install asks for."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import Partner
from connectors import hosts
from connectors.discovery import server_url_problem
from connectors.forms import (
    KEY_FILE,
    ScopesField,
    apply_key_file,
    check_private_keys,
    choice_field,
    has_scopes,
    is_private_key,
    key_file_fields,
    key_file_input,
    private_key_input,
)
from connectors.models import Connector
from connectors.patterns import fullmatches
from connectors.schema import FieldSpec
from connectors.templating import HOST_LABEL_MESSAGE, is_host_label, url_keys
from core.forms import ConsoleForm
from core.text import validate_name
from installs import values
from installs.models import Install

MAX_VALUE_LENGTH = 500


class InstallForm(ConsoleForm):
    """The values an install needs: every account-level field and every partner-level field
    the partner left blank in its Authentication Settings (never showing what it saved).

    Secret fields are password inputs that never render a value. With `install` the form
    edits that install's values: a secret left blank keeps the stored value. Values that
    go into a URL must be a plain host label (see connectors/templating.py).
    """

    def __init__(self, *args: Any, connector: Connector, partner: Partner,
                 install: Install | None = None, ask_name: bool = True,
                 saved: values.SavedSettings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connector, self.install = connector, install
        self.asked = values.asked_fields(connector, partner, saved=saved)
        self.url_keys = url_keys(connector.spec)
        if ask_name:
            self.fields["install_name"] = forms.CharField(
                label="Name", max_length=200, required=False, validators=[validate_name],
                initial=install.name if install else "",
                help_text="Optional: tells several installs of the same connector apart.")
        self.stored = set(install.secret_values) if install else set()
        # jwt_bearer: a pasted key file may fill these instead (then they are optional here).
        self.key_filled = key_file_fields(connector.spec, self.asked)
        if self.key_filled:
            self.fields[KEY_FILE] = key_file_input(self.key_filled)
        for spec_field in self.asked:
            self.fields[spec_field.key] = self._form_field(spec_field,
                                                           spec_field.key in self.stored)

    def _form_field(self, spec_field: FieldSpec, stored: bool) -> forms.Field:
        if spec_field.choices:
            return choice_field(spec_field, required=spec_field.required,
                                initial=self.install.values.get(spec_field.key, "")
                                if self.install else "")
        help_text = spec_field.help
        if spec_field.secret and stored:
            help_text = f"{help_text} A value is saved; leave blank to keep it.".strip()
        if is_private_key(self.connector.spec, spec_field):
            return private_key_input(spec_field, help_text=help_text, required=(
                self.needs(spec_field) and spec_field not in self.key_filled))
        if spec_field.secret:
            widget: forms.Widget = forms.PasswordInput(render_value=False,
                                                       attrs={"autocomplete": "new-password"})
        else:
            widget = forms.TextInput(attrs={"autocomplete": "off"})
        initial = "" if spec_field.secret or not self.install else self.install.values.get(
            spec_field.key, "")
        # Editing: secrets are optional (blank keeps the stored value).
        required = self.needs(spec_field) and spec_field not in self.key_filled
        return forms.CharField(label=spec_field.label, help_text=help_text, required=required,
                               max_length=MAX_VALUE_LENGTH, widget=widget, initial=initial)

    def needs(self, spec_field: FieldSpec) -> bool:
        """Whether a value must be entered (editing, a blank secret keeps the stored one)."""
        return spec_field.required and not (self.install and spec_field.secret)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data  # what Form.clean returns (its stubs allow None)
        self._fill_from_key_file()
        for spec_field in self.asked:
            value = cleaned.get(spec_field.key)
            if not value or spec_field.choices:  # a select accepts only its listed values
                continue
            if spec_field.is_base_url:  # the customer's own server (connectors/hosts.py)
                self._clean_base_url(spec_field, value)
                continue
            if spec_field.pattern and not fullmatches(spec_field.pattern, value):
                self.add_error(spec_field.key, f"Enter a valid {spec_field.label}.")
            elif spec_field.kind == "server_url" and server_url_problem(value):
                self.add_error(spec_field.key, server_url_problem(value))
            elif spec_field.key in self.url_keys and not is_host_label(value):
                self.add_error(spec_field.key, HOST_LABEL_MESSAGE)
        check_private_keys(self, self.connector.spec, self.asked)
        return cleaned

    def _clean_base_url(self, spec_field: FieldSpec, value: str) -> None:
        problem = hosts.entry_problem(spec_field, value)
        if problem:
            self.add_error(spec_field.key, problem)
        else:
            self.cleaned_data[spec_field.key] = hosts.normalized(value)

    def _fill_from_key_file(self) -> None:
        if not self.key_filled:
            return
        apply_key_file(self, self.connector.spec, self.asked)
        for spec_field in self.key_filled:
            if self.needs(spec_field) and not self.cleaned_data.get(spec_field.key) and (
                    spec_field.key not in self.errors):
                self.add_error(spec_field.key, f"Enter the {spec_field.label}, or paste the "
                                               "key file.")

    @property
    def install_name(self) -> str:
        name: str = self.cleaned_data.get("install_name", "")
        return name

    def field_values(self) -> dict[str, str]:
        """The entered values by field key (blank secrets left out: they keep what is stored)."""
        values = {}
        for spec_field in self.asked:
            value = self.cleaned_data.get(spec_field.key, "")
            if value or not spec_field.secret:
                values[spec_field.key] = value
        return values


class InstallScopesForm(ConsoleForm):
    """The install form's "Advanced" part (OAuth 2.0, client credentials): the scopes this
    install requests, prefilled with the partner's (else the connector's defaults)."""

    def __init__(self, *args: Any, connector: Connector, partner: Partner,
                 saved: values.SavedSettings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = (saved or values.SavedSettings()).of(partner, connector)
        spec = connector.spec
        self.default = list(settings.sign_in_scopes(spec) if settings else spec.auth.scopes)
        offered = ", ".join(o.scope for o in spec.auth.optional_scopes)
        self.fields["scopes"] = ScopesField(
            label="Scopes", initial=" ".join(self.default),
            help_text="The scopes this install requests, separated by spaces; requested "
                      "again when it is reauthenticated. Left blank: those of the "
                      f"Authentication Settings.{f' Also offered: {offered}.' if offered else ''}")

    @staticmethod
    def applies(connector: Connector) -> bool:
        return has_scopes(connector.spec)

    def chosen(self) -> list[str] | None:
        """The scopes entered, or None (blank: the partner's)."""
        scopes: list[str] = self.cleaned_data.get("scopes") or []
        return scopes or None
