"""Forms of the connector pages: the library's search and filters, Authentication Settings."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from connectors import hosts
from connectors.auth.base import dotted_get
from connectors.auth.keys import (
    MAX_KEY_LENGTH,
    KeyProblem,
    load_hmac_secret,
    load_private_key,
    load_signing_key,
)
from connectors.models import ConnectorQuerySet, PartnerAuthSettings
from connectors.patterns import fullmatches
from connectors.schema import (
    AUTH_TYPE_LABELS,
    KEY_ID_FIELD,
    PRIVATE_KEY_FIELD,
    SCOPE_TOKEN_RE,
    ConnectorSpec,
    FieldSpec,
)
from core.fields import is_unreadable
from core.forms import MAX_QUERY_LENGTH, ConsoleForm

# Longer than any real key or secret; keeps hostile input a field error, not a 500.
MAX_VALUE_LENGTH = 2000

# "Ready": can be offered now (settings saved, or none to save); the value stays
# "configured" so bookmarked filters keep working.
STATUS_CHOICES = [("", "Any status"), ("configured", "Ready"),
                  ("setup_required", "Setup Required")]


class ConnectorSearchForm(ConsoleForm):
    """Server-side search: every word must occur in the name, description or categories."""

    q = forms.CharField(label="Search connectors", required=False, max_length=MAX_QUERY_LENGTH,
                        widget=forms.TextInput(attrs={"type": "search"}))

    def filter(self, connectors: ConnectorQuerySet) -> ConnectorQuerySet:
        """Apply whatever part of the form is valid; an invalid filter is simply ignored."""
        self.is_valid()
        # `search_text` is stored lower-cased, so a lower-cased `contains` is
        # case-insensitive on every database.
        for term in self.cleaned_data.get("q", "").lower().split():
            connectors = connectors.filter(search_text__contains=term)
        return connectors


class FilterSelect(forms.Select):
    """A select whose options are formatted in Python rather than one template each.

    The library's three filters have some 35 options between them; rendering each
    through Django's option template was most of the page's render time (bench/pages.py).
    The markup is the same as Django's.
    """

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None,
               renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join("", '<option value="{}"{}>{}</option>', (
            (option["value"], mark_safe(" selected") if option["selected"] else "",  # noqa: S308
             option["label"])
            for _, group, _ in widget["optgroups"] for option in group))
        return format_html('<select name="{}"{}>{}</select>', widget["name"],
                           flatatt(widget["attrs"]), options)


class LibraryFilterForm(ConnectorSearchForm):
    """The library's GET form: search plus category, auth type and status filters.

    Category choices are passed in (one query by the view) so validating them costs no
    further query: the library page must stay at a constant query count.
    """

    category = forms.ChoiceField(label="Category", required=False, widget=FilterSelect)
    auth_type = forms.ChoiceField(
        label="Authentication type", required=False, widget=FilterSelect,
        choices=[("", "Any authentication"), *AUTH_TYPE_LABELS.items()],
    )
    status = forms.ChoiceField(label="Status", required=False, choices=STATUS_CHOICES,
                               widget=FilterSelect)
    source = forms.ChoiceField(label="Source", required=False, widget=FilterSelect,
                               choices=[("", "Catalogue and custom"), ("catalogue", "Catalogue"),
                                        ("custom", "Custom")])

    def __init__(self, *args: Any, categories: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = cast(forms.ChoiceField, self.fields["category"])  # declared just above
        category.choices = [("", "Any category"), *((c, c) for c in categories)]

    def filter(self, connectors: ConnectorQuerySet) -> ConnectorQuerySet:
        connectors = super().filter(connectors)
        data = self.cleaned_data
        if data.get("category"):
            connectors = connectors.filter(categories__name=data["category"])
        if data.get("auth_type"):
            connectors = connectors.filter(auth_type=data["auth_type"])
        if data.get("source"):
            connectors = connectors.filter(owner__isnull=data["source"] == "catalogue")
        if data.get("status"):
            # Annotated by with_configured(), which the plugin does not follow into this type.
            connectors = connectors.filter(  # type: ignore[misc]
                is_configured=data["status"] == "configured")
        return connectors


def clear_name(key: str) -> str:
    """Form name of a secret field's "Clear" checkbox ('-' never occurs in a field key)."""
    return f"clear-{key}"


class PatternValidator:
    """The catalogue's `pattern`, matched against the whole value. Never echoes the value."""

    def __init__(self, field: FieldSpec) -> None:
        self.pattern, self.label = field.pattern, field.label

    def __call__(self, value: str) -> None:
        # Over-long values already fail max_length; do not run a regex over them.
        if len(value) <= MAX_VALUE_LENGTH and not fullmatches(self.pattern, value):
            raise ValidationError(f"Enter the {self.label} in the format it is issued in.",
                                  code="pattern")


class BaseUrlValidator:
    """A field with `kind = "base_url"`: an https URL of a public server (connectors/hosts.py)."""

    def __init__(self, field: FieldSpec) -> None:
        self.field = field

    def __call__(self, value: str) -> None:
        problem = hosts.entry_problem(self.field, value)
        if problem:
            raise ValidationError(problem, code="base_url")


def choice_field(field: FieldSpec, *, required: bool, initial: str = "") -> forms.ChoiceField:
    """A catalogue field with `choices` as a select: only a listed value is accepted, and
    the value kept is the mapped one (it goes into URLs)."""
    options = [("", "Choose…"), *((value, label) for label, value in field.choices.items())]
    return forms.ChoiceField(label=field.label, help_text=field.help, required=required,
                             choices=options, initial=initial)


# --- jwt_bearer, jwt, app_installation (issue 21 §2-§4) and private_key_jwt (§6): keys ---


class SecretTextarea(forms.Textarea):
    """A multi-line secret (a PEM key): like PasswordInput(render_value=False), it never
    renders a stored or just-submitted value."""

    def format_value(self, value: Any) -> None:
        return None


def is_signing_key(spec: ConnectorSpec, field: FieldSpec) -> bool:
    """Whether `field` holds the key that signs the connector's JWTs: the jwt_bearer
    assertion's, the GitHub App JWT's (app_installation), the private_key_jwt client
    assertion's, or the jwt mode's token's."""
    signs = spec.auth.type in ("jwt_bearer", "jwt", "app_installation") or (
        "private_key_jwt" in (spec.auth.token_auth, spec.auth.revoke_auth))
    return signs and field.key == PRIVATE_KEY_FIELD


def is_hmac_secret(spec: ConnectorSpec) -> bool:
    """Whether the signing key is a shared secret (jwt with HS256), not a PEM."""
    return spec.auth.type == "jwt" and spec.auth.algorithm == "HS256"


def is_private_key(spec: ConnectorSpec, field: FieldSpec) -> bool:
    """Whether `field` holds a PEM private key (entered in a multi-line secret input)."""
    return is_signing_key(spec, field) and not is_hmac_secret(spec)


def checked_key(spec: ConnectorSpec, value: str) -> str:
    """The entered key, clean, when it can sign for `spec`; else KeyProblem. jwt_bearer
    and jwt declare their algorithm; GitHub App JWTs are RS256; private_key_jwt signs by
    the key's type."""
    if is_hmac_secret(spec):
        return load_hmac_secret(value).hex()
    if spec.auth.type == "app_installation":
        return load_private_key(value, "RS256").decode()
    if spec.auth.type in ("jwt_bearer", "jwt"):
        return load_private_key(value, spec.auth.algorithm).decode()
    return load_signing_key(value)[0].decode()


def split_key_id(form: forms.Form, spec: ConnectorSpec, fields: Sequence[FieldSpec]) -> None:
    """An HS256 key pasted whole as "id:secret" (Ghost's Admin API key) fills the form's
    empty `key_id` field with the part before the colon."""
    value = form.cleaned_data.get(PRIVATE_KEY_FIELD)
    if not (is_hmac_secret(spec) and isinstance(value, str) and ":" in value):
        return
    key_id, secret = (part.strip() for part in value.split(":", 1))
    if not KEY_ID_RE.match(key_id):
        form.add_error(PRIVATE_KEY_FIELD, "This is not a key of the form id:secret.")
        return
    if KEY_ID_FIELD in {f.key for f in fields} and not form.cleaned_data.get(KEY_ID_FIELD):
        form.cleaned_data[KEY_ID_FIELD] = key_id
    form.cleaned_data[PRIVATE_KEY_FIELD] = secret


#: The id part of an "id:secret" key: a plain identifier (it goes into the JWT header).
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def private_key_input(field: FieldSpec, *, required: bool, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=field.label, help_text=help_text, required=required, max_length=MAX_KEY_LENGTH,
        widget=SecretTextarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false",
                                     "placeholder": "-----BEGIN PRIVATE KEY-----"}))


def check_private_keys(form: forms.Form, spec: ConnectorSpec, fields: Sequence[FieldSpec]) -> None:
    """Each entered private key that cannot sign for this connector is a field error (its
    message never quotes the key); one that can is kept as a clean PEM, however pasted."""
    split_key_id(form, spec, fields)
    for field in fields:
        value = form.cleaned_data.get(field.key)
        if not value or not is_signing_key(spec, field):
            continue
        try:
            form.cleaned_data[field.key] = checked_key(spec, value)
        except KeyProblem as problem:
            form.add_error(field.key, problem.message)


#: The form input that takes a whole JSON key file (`auth.key_file`); never stored.
KEY_FILE = "key_file"
MAX_KEY_FILE_LENGTH = 20000


def key_file_fields(spec: ConnectorSpec, fields: Sequence[FieldSpec]) -> list[FieldSpec]:
    """Those of `fields` (a form's) that the connector's key file fills."""
    return [f for f in fields if spec.auth.type == "jwt_bearer" and f.key in spec.auth.key_file]


def key_file_input(filled: Sequence[FieldSpec]) -> forms.CharField:
    listed = ", ".join(f.label for f in filled)
    return forms.CharField(
        label="Key file (JSON)", required=False, max_length=MAX_KEY_FILE_LENGTH,
        help_text=f"Paste the whole JSON key file: it fills in {listed}. Nothing else in it "
                  "is stored.",
        widget=SecretTextarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false",
                                     "placeholder": '{"type": "service_account", …}'}))


def apply_key_file(form: forms.Form, spec: ConnectorSpec, fields: Sequence[FieldSpec]) -> None:
    """Fill the key file's fields from a pasted key file (before they are checked); the
    file itself is dropped from the cleaned data. Errors never quote the file."""
    text = form.cleaned_data.pop(KEY_FILE, "")
    if not text:
        return
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        form.add_error(KEY_FILE, "This is not a JSON key file.")
        return
    for field in key_file_fields(spec, fields):
        value = dotted_get(data, spec.auth.key_file[field.key])
        if isinstance(value, str) and value.strip():
            form.cleaned_data[field.key] = value.strip()
        elif field.required:
            form.add_error(KEY_FILE, f"This key file has no {spec.auth.key_file[field.key]}.")


# --- end jwt_bearer ---


#: The auth types whose Authentication Settings (and installs) choose the scopes requested.
SCOPED_AUTH_TYPES = ("oauth2", "oauth2_client_credentials")
MAX_SCOPES = 100


def has_scopes(spec: ConnectorSpec) -> bool:
    return spec.auth.type in SCOPED_AUTH_TYPES


def parse_scopes(text: str) -> list[str]:
    """Scopes entered as text (spaces, commas or new lines between them): each an RFC 6749
    scope-token, in order, each once. A ValidationError names the first bad one."""
    scopes = list(dict.fromkeys(text.replace(",", " ").split()))
    return check_scopes(scopes)


def check_scopes(scopes: Sequence[str]) -> list[str]:
    if len(scopes) > MAX_SCOPES:
        raise ValidationError(f"Request at most {MAX_SCOPES} scopes.", code="scopes")
    for scope in scopes:
        if not SCOPE_TOKEN_RE.match(scope):
            shown = scope if len(scope) <= 60 else scope[:60] + "…"
            raise ValidationError(f"“{shown}” is not a valid scope: a scope is printable "
                                  "ASCII without spaces, quotes or backslashes.", code="scopes")
    return list(dict.fromkeys(scopes))


class ScopesField(forms.CharField):
    """Free entry of scopes; cleans to a list (empty when left blank)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", MAX_VALUE_LENGTH)
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "off",
                                                           "spellcheck": "false"}))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> list[str]:
        return parse_scopes(super().clean(value) or "")


class AuthSettingsForm(ConsoleForm):
    """One input per partner-level field of a connector.

    Secret fields are password inputs that never render a stored or submitted value;
    left blank they keep the stored value, and their "Clear" checkbox removes it.
    Every field is optional: a value left blank is asked for at install.
    """

    def __init__(self, data: Any = None, *, spec: ConnectorSpec,
                 saved: PartnerAuthSettings | None = None, read_only: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.spec = spec
        self.saved = saved
        key_filled = key_file_fields(spec, spec.partner_fields)
        if key_filled:  # jwt_bearer: one pasted key file fills these
            self.fields[KEY_FILE] = key_file_input(key_filled)
        for field in spec.partner_fields:
            self.fields[field.key] = self._input(field)
            if field.secret:
                self.fields[clear_name(field.key)] = forms.BooleanField(
                    label="Clear", required=False,
                    help_text=f"Remove the saved {field.label}.",
                )
        if has_scopes(spec):
            self._scope_fields()
        if read_only:
            for form_field in self.fields.values():
                form_field.disabled = True

    def _scope_fields(self) -> None:
        """Scopes: a checkbox per optional scope, and free entry prefilled with the saved
        scopes (else the catalogue's defaults) that are not among the optional ones."""
        optional = [o.scope for o in self.spec.auth.optional_scopes]
        chosen = (self.saved.sign_in_scopes(self.spec) if self.saved else self.spec.auth.scopes)
        self.fields["scopes"] = ScopesField(
            label="Scopes", initial=" ".join(s for s in chosen if s not in optional),
            help_text="The scopes new installs request, separated by spaces. Left blank "
                      "(with no box ticked), the connector's defaults: "
                      f"{' '.join(self.spec.auth.scopes) or 'none'}.")
        if optional:
            self.fields["optional_scopes"] = forms.MultipleChoiceField(
                label="Optional scopes", required=False,
                widget=forms.CheckboxSelectMultiple,
                choices=[(o.scope, f"{o.scope}: {o.description}")
                         for o in self.spec.auth.optional_scopes],
                initial=[s for s in chosen if s in optional])

    @staticmethod
    def data_for(spec: ConnectorSpec, saved: PartnerAuthSettings | None,
                 values: Mapping[str, str | None]) -> dict[str, str]:
        """The form data the console would post to apply `values` (a field key's new
        value, or None to clear it) to the saved settings: a field not in `values` keeps
        its saved value (a secret by being left blank, as on the page). Scopes are kept
        as saved (the API sets them with `chosen_scopes`)."""
        data: dict[str, str] = {}
        if has_scopes(spec) and saved is not None and saved.scopes is not None:
            data["scopes"] = " ".join(saved.scopes)
        for field in spec.partner_fields:
            new = values.get(field.key)
            if field.secret:
                if field.key in values and new is None:
                    data[clear_name(field.key)] = "on"
                elif new is not None:
                    data[field.key] = new
            elif field.key in values:
                data[field.key] = new or ""
            elif saved is not None:
                data[field.key] = str(saved.values.get(field.key, ""))
        return data

    def _input(self, field: FieldSpec) -> forms.Field:
        if field.choices:  # blank: asked at install
            return choice_field(field, required=False,
                                initial=self.saved.values.get(field.key, "") if self.saved else "")
        # Django links help text (and errors) to the input with aria-describedby; a
        # secret's "Saved" / "Not set" status is rendered inside its help text.
        if field.secret and is_private_key(self.spec, field):
            return private_key_input(field, required=False, help_text=field.help or (
                f"The {field.label} (PEM) is stored encrypted."))
        if field.secret:
            help_text = field.help or f"The {field.label} is stored encrypted."
            # render_value=False: neither a stored nor a just-submitted secret is echoed.
            widget: forms.Widget = forms.PasswordInput(render_value=False,
                                                       attrs={"autocomplete": "new-password"})
        else:
            help_text = field.help
            widget = forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"})
        saved_value = self.saved.values.get(field.key) if self.saved else None
        return forms.CharField(
            label=field.label, help_text=help_text, required=False,
            max_length=MAX_VALUE_LENGTH, widget=widget,
            initial=None if field.secret else saved_value,
            validators=[PatternValidator(field)] if field.pattern else
            [BaseUrlValidator(field)] if field.is_base_url else [],
        )

    def secret_status(self, key: str) -> str:
        """'Saved', 'Not set' or 'Unreadable: enter it again' -- never the value."""
        if self.saved is None:
            return "Not set"
        if is_unreadable(self.saved.secret_values):
            return "Unreadable: enter it again"
        return "Saved" if self.saved.secret_values.get(key) else "Not set"

    def rows(self) -> list[dict[str, Any]]:
        """Each partner-level field with what the template needs to render it (first the
        key file's input, where the connector takes one)."""
        key_file = [{"field": None, "input": self[KEY_FILE], "clear": None, "status": ""}
                    ] if KEY_FILE in self.fields else []
        return [*key_file, *(
            {
                "field": field,
                "input": self[field.key],
                "clear": self[clear_name(field.key)] if field.secret else None,
                "status": self.secret_status(field.key) if field.secret else "",
            }
            for field in self.spec.partner_fields
        )]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data  # what Form.clean returns (its stubs allow None)
        for field in self.spec.partner_fields:
            if field.secret and cleaned.get(clear_name(field.key)) and cleaned.get(field.key):
                self.add_error(clear_name(field.key),
                               f"Either enter a new {field.label} or clear it, not both.")
            if field.is_base_url and cleaned.get(field.key):  # stored without a trailing /
                cleaned[field.key] = hosts.normalized(cleaned[field.key])
        apply_key_file(self, self.spec, self.spec.partner_fields)
        check_private_keys(self, self.spec, self.spec.partner_fields)
        if "scopes" in cleaned:
            chosen = list(dict.fromkeys([*cleaned["scopes"], *cleaned.get("optional_scopes", ())]))
            # Nothing chosen: the catalogue's defaults (None keeps following them).
            cleaned["chosen_scopes"] = chosen or None
        return cleaned
