"""The console's "New custom connector" forms. Each only gathers a definition in the
catalogue format; connectors/custom.py validates it with the catalogue's own models and
its refusals (by dotted key) are put back on the form field they came from."""

from __future__ import annotations

import tomllib
from typing import Any, cast

import tomli_w
from django import forms

from connectors.custom import MAX_DEFINITION_BYTES, DefinitionError
from connectors.models import Category, Connector
from connectors.schema import AUTH_TYPE_LABELS

TEXTAREA = {"rows": 4}
# A refusal's dotted key (its start) -> the form field showing it.
FIELD_OF_KEY = {
    "slug": "slug", "name": "name", "description": "description", "categories": "category",
    "auth.type": "auth_type", "auth.issuer": "issuer", "auth.authorize_url": "authorize_url",
    "auth.token_url": "token_url", "auth.revoke_url": "revoke_url",
    "auth.request_token_url": "request_token_url", "auth.access_token_url": "access_token_url",
    "auth.optional_scopes": "optional_scopes", "auth.scopes": "scopes",
    "auth.header": "api_key_header", "auth.query_param": "api_key_header",
    "auth.token_auth": "token_auth", "auth.pkce": "pkce", "fields": "field_tables",
    "api.base_url": "api_base_url", "api.verify": "api_verify", "api.headers": "api_headers",
}


def as_toml(data: dict[str, Any]) -> str:
    return tomli_w.dumps(data)


def put_errors(form: forms.Form, error: DefinitionError, *, fallback: str | None = None) -> None:
    """Each refusal on its form field (else `fallback`, else the whole form), key named."""
    for key, messages in error.errors.items():
        target = next((name for prefix, name in FIELD_OF_KEY.items()
                       if key == prefix or key.startswith((f"{prefix}.", f"{prefix}["))),
                      fallback)
        if target is not None and target not in form.fields:
            target = fallback
        for message in messages:
            form.add_error(target, f"{key}: {message}")


def catalogue_categories() -> list[str]:
    return list(Category.objects.filter(connectors__owner__isnull=True)
                .values_list("name", flat=True).distinct().order_by("name"))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class CustomConnectorForm(forms.Form):
    """A definition field by field: the common keys; anything more by Paste TOML."""

    slug = forms.CharField(max_length=63, help_text="2-63 lower-case letters, digits and '-'.")
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=500, widget=forms.Textarea(attrs=TEXTAREA))
    category = forms.ChoiceField(required=False)
    auth_type = forms.ChoiceField(label="Auth type", choices=list(AUTH_TYPE_LABELS.items()))
    issuer = forms.CharField(
        required=False, max_length=500, label="Issuer URL",
        help_text="OAuth 2.0: select Discover to fill in the endpoints, PKCE, scopes and "
                  "client authentication from its RFC 8414 or OpenID Connect metadata.")
    authorize_url = forms.CharField(required=False, max_length=500, label="Authorize URL")
    token_url = forms.CharField(required=False, max_length=500, label="Token URL")
    revoke_url = forms.CharField(required=False, max_length=500, label="Revocation URL")
    request_token_url = forms.CharField(required=False, max_length=500,
                                        label="Request token URL (OAuth 1.0a)")
    access_token_url = forms.CharField(required=False, max_length=500,
                                       label="Access token URL (OAuth 1.0a, app installation)")
    pkce = forms.BooleanField(required=False, initial=True, label="PKCE (S256)")
    token_auth = forms.ChoiceField(
        label="Token endpoint client authentication", initial="client_secret_post",
        choices=[("client_secret_post", "client_secret_post"),
                 ("client_secret_basic", "client_secret_basic")])
    scopes = forms.CharField(required=False, max_length=2000, label="Default scopes",
                             help_text="Separated by spaces.")
    optional_scopes = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs=TEXTAREA),
        help_text="One a line: the scope, then a space and its description.")
    api_key_header = forms.CharField(required=False, max_length=100, label="API key header",
                                     help_text="API key: the header the key is sent in.")
    field_tables = forms.CharField(
        required=False, max_length=MAX_DEFINITION_BYTES, widget=forms.Textarea(attrs=TEXTAREA),
        label="Fields (TOML)",
        help_text="[[fields]] tables as in the catalogue. OAuth 2.0 and client credentials "
                  "may leave this empty: a Client ID and a secret Client Secret.")
    api_base_url = forms.CharField(required=False, max_length=500, label="API base URL")
    api_verify = forms.CharField(required=False, max_length=500, label="Verify request",
                                 help_text='The request that proves credentials work: "GET /me".')
    api_headers = forms.CharField(required=False, max_length=5000, label="API headers",
                                  widget=forms.Textarea(attrs=TEXTAREA),
                                  help_text="One a line: Name: value.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = cast(forms.ChoiceField, self.fields["category"])  # declared above
        category.choices = [("", "(none)"), *((name, name) for name in catalogue_categories())]

    def clean_field_tables(self) -> list[dict[str, Any]] | None:
        text = self.cleaned_data["field_tables"].strip()
        if not text:
            return None
        try:
            parsed = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise forms.ValidationError(f"fields: not TOML: {error}") from None
        found = parsed.get("fields")
        if set(parsed) != {"fields"} or not isinstance(found, list):
            raise forms.ValidationError("fields: give [[fields]] tables only.")
        return found

    def definition(self) -> dict[str, Any]:
        """The definition the cleaned form gives (empty keys left out)."""
        data = self.cleaned_data
        auth: dict[str, Any] = {"type": data["auth_type"]}
        for key in ("issuer", "authorize_url", "token_url", "revoke_url", "request_token_url",
                    "access_token_url"):
            if data[key]:
                auth[key] = data[key]
        if data["auth_type"] in ("oauth2", "oauth2_client_credentials"):
            auth |= {"pkce": data["pkce"], "token_auth": data["token_auth"]}
        if data["scopes"].split():
            auth["scopes"] = data["scopes"].split()
        optional = [line.split(None, 1) for line in _lines(data["optional_scopes"])]
        if optional:
            auth["optional_scopes"] = [{"scope": o[0], "description": o[-1]} for o in optional]
        if data["api_key_header"]:
            auth["header"] = data["api_key_header"]
        api: dict[str, Any] = {}
        if data["api_base_url"]:
            api["base_url"] = data["api_base_url"]
        if data["api_verify"]:
            api["verify"] = data["api_verify"]
        headers = [line.split(":", 1) for line in _lines(data["api_headers"])]
        if headers:
            api["headers"] = {h[0].strip(): h[-1].strip() for h in headers}
        definition: dict[str, Any] = {"slug": data["slug"], "name": data["name"],
                                      "description": data["description"], "auth": auth}
        if data["category"]:
            definition["categories"] = [data["category"]]
        if api:
            definition["api"] = api
        if data["field_tables"] is not None:
            definition["fields"] = data["field_tables"]
        return definition

    def with_discovered(self, auth: dict[str, Any]) -> dict[str, Any]:
        """The form's data with the discovered endpoints filled in (to show, not save)."""
        data = {key: self.data.get(key) for key in self.data}
        for key in ("authorize_url", "token_url", "revoke_url", "issuer"):
            data[self.add_prefix(key)] = auth.get(key, data.get(self.add_prefix(key), ""))
        data[self.add_prefix("token_auth")] = auth.get("token_auth", "client_secret_basic")
        data[self.add_prefix("pkce")] = "on" if auth.get("pkce") else ""
        chosen = set((data.get(self.add_prefix("scopes")) or "").split())
        data[self.add_prefix("optional_scopes")] = "\n".join(
            f"{o['scope']} {o['description']}" for o in auth.get("optional_scopes", [])
            if o["scope"] not in chosen)
        return data


class TomlForm(forms.Form):
    """Paste TOML (also "Start from a catalogue connector", and editing): a definition in
    the catalogue format; the slug beside it (a file's name is its slug)."""

    slug = forms.CharField(max_length=63, help_text="2-63 lower-case letters, digits and '-'.")
    toml = forms.CharField(label="Definition (TOML)", max_length=MAX_DEFINITION_BYTES,
                           widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false"}),
                           help_text="The catalogue format (docs/catalogue.md), at most 64 KB.")

    def __init__(self, *args: Any, editing: Connector | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing is not None:
            self.fields["slug"].disabled = True
            self.initial.setdefault("slug", editing.slug)
            self.initial.setdefault("toml", as_toml(editing.spec_data))

    def clean_toml(self) -> dict[str, Any]:
        try:
            return tomllib.loads(self.cleaned_data["toml"])
        except tomllib.TOMLDecodeError as error:
            raise forms.ValidationError(f"(syntax): {error}") from None

    def definition(self) -> dict[str, Any]:
        return {**self.cleaned_data["toml"], "slug": self.cleaned_data["slug"]}


class StartFromForm(forms.Form):
    """Start from a catalogue connector: its definition copied into Paste TOML."""

    connector = forms.ChoiceField(label="Catalogue connector")

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["connector"]).choices = choices
