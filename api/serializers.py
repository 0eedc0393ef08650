"""The API's shapes: what each endpoint takes and answers. Never a secret, except the
credentials endpoint's answer (`CredentialsSerializer`)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.models import Account, Partner
from api.pagination import MAX_ID
from audit.models import Action, AuditEvent
from connectors.forms import KEY_FILE, MAX_KEY_FILE_LENGTH, check_scopes, has_scopes
from connectors.models import Connector
from connectors.schema import AUTH_TYPE_LABELS
from connectors.services import callback_url
from core.forms import MAX_QUERY_LENGTH
from core.text import normal_external_id, validate_external_id, validate_name
from installs import importing
from installs.forms import InstallForm
from installs.models import Install
from links.forms import DEFAULT_MINUTES, MAX_MINUTES
from links.services import configured_connectors, validate_return_url

AUTH_TYPES = list(AUTH_TYPE_LABELS)


def partner_of(serializer: serializers.Serializer[Any]) -> Partner:
    partner: Partner = serializer.context["partner"]
    return partner


def page_of(item: type[serializers.Serializer[Any]]) -> type[serializers.Serializer[Any]]:
    """The schema's shape of a list page of `item`s (api.pagination.Cursor)."""
    name = item.__name__.removesuffix("Serializer")
    return type(f"{name}Page", (serializers.Serializer,), {
        "results": item(many=True),
        "next": serializers.URLField(allow_null=True,
                                     help_text="The next page, or null on the last one."),
        "__doc__": f"One page of {name} rows, newest or by slug; follow `next`.",
    })


# --- connectors ------------------------------------------------------------------------


class ConnectorQuery(serializers.Serializer[Any]):
    q = serializers.CharField(required=False, max_length=MAX_QUERY_LENGTH,
                              help_text="Every word must occur in the name, description or "
                                        "categories.")
    auth_type = serializers.ChoiceField(choices=AUTH_TYPES, required=False)
    configured = serializers.BooleanField(required=False, allow_null=True, default=None,
                                          help_text="Whether it is ready to offer: its "
                                                    "Authentication Settings are saved, or it "
                                                    "has none to save.")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "source" is a Field attribute: the field of that name is added here (DRF's hook).
        found = super().get_fields()
        found["source"] = serializers.ChoiceField(
            choices=["catalogue", "custom"], required=False,
            help_text="Only the catalogue's, or only your own custom connectors.")
        return found


class FieldSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    # `label` and `required` are also Field attributes: the stubs see a clash, DRF does not.
    label = serializers.CharField()  # type: ignore[assignment]
    level = serializers.ChoiceField(choices=["partner", "account", "captured"])
    secret = serializers.BooleanField()
    required = serializers.BooleanField()  # type: ignore[assignment]


class ConnectorSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField()
    name = serializers.CharField()
    description = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField(), source="category_names")
    auth_type = serializers.ChoiceField(choices=AUTH_TYPES)
    configured = serializers.BooleanField(source="is_configured",
                                          help_text="Ready to offer: the partner's "
                                                    "Authentication Settings are saved, or the "
                                                    "connector has no partner-level field.")
    callback_url = serializers.SerializerMethodField(
        help_text="This connector's own callback (redirect) URL, to register with the "
                  "provider; null when its sign-in sends nobody back (no browser flow).")

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "source" is a Field attribute: the field of that name is added here (DRF's hook).
        found = super().get_fields()
        found["source"] = serializers.ChoiceField(
            choices=["catalogue", "custom"],
            help_text="`catalogue`: Hatchway's; `custom`: one of your own custom connectors.")
        return found

    def get_callback_url(self, connector: Connector) -> str | None:
        return callback_url(connector.slug) if connector.uses_callback else None


class ConnectorDetailSerializer(ConnectorSerializer):
    """A connector with its fields (what they are, never a value)."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "fields" is a Serializer attribute, so the field of that name cannot be declared
        # as a class attribute; get_fields() is DRF's public hook for the field map.
        found = super().get_fields()
        found["fields"] = FieldSerializer(many=True, source="spec.fields")
        return found


class ConnectorDefinitionSerializer(serializers.Serializer[Any]):
    """A custom connector's definition: the catalogue format (docs/catalogue.md) as JSON.
    For the schema only: connectors/schema.py validates it (422 with `errors` by key)."""

    slug = serializers.CharField(help_text="2-63 lower-case letters, digits and '-'; "
                                           "fixed once created.")
    name = serializers.CharField()
    description = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField(), required=False,
                                       help_text="The catalogue's category names only.")
    website = serializers.CharField(required=False)
    api_docs = serializers.CharField(required=False)
    auth = serializers.DictField(help_text="`[auth]`: `type` and its keys. For oauth2 an "
                                           "`issuer` without `token_url` is discovered.")
    api = serializers.DictField(required=False, help_text="`[api]`: base_url, verify, headers.")
    guide = serializers.DictField(child=serializers.CharField(), required=False)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "fields" is a Serializer attribute: the field of that name is added here.
        found = super().get_fields()
        found["fields"] = serializers.ListField(
            child=serializers.DictField(), required=False,
            help_text="`[[fields]]`; OAuth 2.0 and client credentials may omit them.")
        return found


class CustomConnectorSerializer(ConnectorDetailSerializer):
    """A custom connector as stored: with its whole definition (the catalogue format)."""

    definition = serializers.SerializerMethodField(
        help_text="The stored definition in the catalogue format, slug included: discovered "
                  "endpoints and default fields filled in.")
    retired = serializers.SerializerMethodField()

    def get_definition(self, connector: Connector) -> dict[str, Any]:
        return {"slug": connector.slug, **connector.spec_data}

    def get_retired(self, connector: Connector) -> bool:
        return connector.retired_at is not None


# --- accounts --------------------------------------------------------------------------


class AccountQuery(serializers.Serializer[Any]):
    external_id = serializers.CharField(required=False, max_length=200)
    q = serializers.CharField(required=False, max_length=MAX_QUERY_LENGTH,
                              help_text="The name or the external id contains this text.")


class AccountSerializer(serializers.ModelSerializer[Account]):
    class Meta:
        model = Account
        fields = ["external_id", "name", "created_at"]
        read_only_fields = ["created_at"]
        # Uniqueness is the service's answer (409), not a validation error.
        validators: list[Any] = []
        extra_kwargs = {"external_id": {"validators": [],
                                        "help_text": "Your own id for this customer: no "
                                                     "“/”, control or invisible formatting "
                                                     "characters; compared and stored in "
                                                     "Unicode NFC."},
                        "name": {"validators": [validate_name]}}

    def validate_external_id(self, value: str) -> str:
        """The rule (core/text.py), unless it is the account's own id, unchanged (ids
        written before the rule stay usable); the service stores it in NFC."""
        if self.instance is None or value != self.instance.external_id:
            validate_external_id(normal_external_id(value))
        return value


# --- installs --------------------------------------------------------------------------


class InstallSerializer(serializers.ModelSerializer[Install]):
    connector: serializers.SlugRelatedField[Connector] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True)
    account: serializers.SlugRelatedField[Account] = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True)
    token_info = serializers.DictField(read_only=True, help_text="Non-secret facts from "
                                       "authentication: granted scope, account names.")
    values = serializers.SerializerMethodField(help_text="Non-secret values: entered at "
                                               "install and captured (e.g. instance_url).")
    requested_scopes = serializers.ListField(
        child=serializers.CharField(), read_only=True, allow_null=True,
        help_text="The scopes its sign-ins request (OAuth 2.0, client credentials); null for "
                  "other connectors and for installs made before installs kept their own.")
    granted_scopes = serializers.ListField(
        child=serializers.CharField(), read_only=True, allow_null=True,
        help_text="The scopes the provider's token response granted; null when it did not "
                  "say (then it granted those requested).")

    class Meta:
        model = Install
        fields = ["id", "connector", "account", "name", "status", "expires_at", "last_error",
                  "token_info", "values", "requested_scopes", "granted_scopes", "created_at"]
        read_only_fields = fields

    def get_values(self, install: Install) -> dict[str, str]:
        secret = {f.key for f in install.connector.spec.fields if f.secret}
        return {k: v for k, v in install.values.items() if k not in secret}


class ActiveConnectorField(serializers.SlugRelatedField[Connector]):
    """A connector by slug among those that may be installed, asked at each request (which
    ones are depends on settings: the sandbox's connectors only where it runs)."""

    def get_queryset(self) -> Any:
        return Connector.objects.active(self.context["partner"])


class InstallCreateSerializer(serializers.Serializer[Any]):
    connector = ActiveConnectorField(slug_field="slug", queryset=Connector.objects.all())
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    # The install form limits each value (a PEM key or a key file may be longer than the rest).
    values = serializers.DictField(child=serializers.CharField(max_length=MAX_KEY_FILE_LENGTH,
                                                               allow_blank=True),
                                   required=False, default=dict,
                                   help_text="The install's values by field key (see the "
                                             "connector's `fields`); with `credentials`, "
                                             "captured values (e.g. instance_url) too.")
    credentials = serializers.DictField(
        required=False,
        help_text="Import an existing connection: OAuth 2.0 `access_token`, `refresh_token`?, "
                  "`expires_at`? (RFC 3339) or `expires_in`?, `scope`?, `token_type`?; OAuth "
                  "1.0a `oauth_token`, `oauth_token_secret`; `{}` for API key and basic (their "
                  "`values` hold them). Refreshed if expired, verified, then saved.")
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=200, trim_whitespace=False, allow_blank=True),
        required=False,
        max_length=100,
        help_text="OAuth 2.0 and client credentials: the scopes this install requests, each "
                  "an RFC 6749 scope-token (default: the partner's Authentication Settings', "
                  "else the connector's defaults). Requested again on reauthentication.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The scopes first (422 from the view when invalid), then the values."""
        if "scopes" in attrs:
            attrs["scope_errors"] = scope_errors(attrs["connector"], attrs["scopes"])
            if attrs["scope_errors"]:
                return attrs
        return self._validate_values(attrs)

    def _validate_values(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The console's install form checks the values: the same rules, the same words.
        An import (`credentials`) also checks captured values and the tokens
        (installs/importing.py)."""
        if "credentials" in attrs:
            try:
                attrs["imported"] = importing.check(
                    account=self.context["account"], connector=attrs["connector"],
                    name=attrs["name"], values=attrs["values"],
                    credentials=attrs["credentials"])
            except importing.InvalidImport as error:
                raise serializers.ValidationError(error.errors) from None
            return attrs
        form = InstallForm({"install_name": attrs["name"], **attrs["values"]},
                           connector=attrs["connector"], partner=partner_of(self))
        # jwt_bearer's pasted key file (`key_file`) is asked too, where it applies.
        unknown = sorted(set(attrs["values"]) - {f.key for f in form.asked}
                         - ({KEY_FILE} & set(form.fields)))
        errors = {f"values.{key}": ["This connector asks for no such value."] for key in unknown}
        if not form.is_valid():
            for key, messages in form.errors.items():
                errors["name" if key == "install_name" else f"values.{key}"] = [
                    str(m) for m in messages]
        if errors:
            raise serializers.ValidationError(errors)
        attrs["values"] = form.field_values()
        return attrs


def scope_errors(connector: Connector, scopes: list[str]) -> list[str]:
    """Why an install's requested scopes are refused ([] when they are fine)."""
    if not has_scopes(connector.spec):
        return ["Only OAuth 2.0 and client-credentials connectors take scopes."]
    try:
        check_scopes(scopes)
    except DjangoValidationError as error:
        return list(error.messages)
    return []


class CredentialsQuery(serializers.Serializer[Any]):
    force_refresh = serializers.BooleanField(required=False, default=False,
                                             help_text="Refresh the token even when not due.")


class CredentialsSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=AUTH_TYPES)
    credentials = serializers.DictField(
        child=serializers.CharField(),
        help_text="OAuth 2.0: access_token, token_type, scope; OAuth 1.0a: oauth_token, "
                  "oauth_token_secret; API key: api_key; basic: username, password; "
                  "JWT bearer: access_token, token_type.")
    expires_at = serializers.DateTimeField(allow_null=True)
    base_url = serializers.CharField(allow_blank=True, help_text="The provider's API base URL.")


class VerifySerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    install = InstallSerializer()


class DeauthenticateSerializer(serializers.Serializer[Any]):
    revocation = serializers.CharField(help_text="revoked, not_supported, unavailable "
                                                 "(retried later), failed, nothing_to_revoke.")
    install = InstallSerializer()


# --- install links ---------------------------------------------------------------------


class InstallLinkCreateSerializer(serializers.Serializer[Any]):
    connectors = serializers.ListField(child=serializers.SlugField(), required=False,
                                       default=list, max_length=200,
                                       help_text="Slugs of configured connectors.")
    expires_minutes = serializers.IntegerField(required=False, default=DEFAULT_MINUTES,
                                               min_value=1, max_value=MAX_MINUTES)
    return_url = serializers.CharField(required=False, allow_blank=True, default="",
                                       max_length=500,
                                       help_text="On one of the allowed return URLs.")
    reconnect_install = serializers.IntegerField(required=False, allow_null=True,
                                                 default=None, min_value=1,
                                                 help_text="An install of this account to "
                                                           "reauthenticate in place.")
    scopes = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(
            max_length=200, trim_whitespace=False, allow_blank=True), max_length=100),
        required=False, default=dict,
        help_text="Connector slug → the scopes an install made through the link requests "
                  "(OAuth 2.0 and client credentials; each an RFC 6749 scope-token). Else "
                  "the partner's Authentication Settings'.")

    def validate_connectors(self, slugs: list[str]) -> list[Connector]:
        found = {c.slug: c for c in configured_connectors(partner_of(self)).filter(
            slug__in=slugs)}
        missing = sorted(set(slugs) - set(found))
        if missing:
            raise serializers.ValidationError(
                f"Not a configured connector: {', '.join(missing)}.")
        return list(found.values())

    def validate_return_url(self, url: str) -> str:
        return validate_return_url(url.strip(), partner_of(self))

    def validate_reconnect_install(self, install_id: int | None) -> Install | None:
        if install_id is None:
            return None
        install = (Install.objects.without_secrets().select_related("connector")
                   .filter(account=self.context["account"], pk=install_id).first())
        if install is None:
            raise serializers.ValidationError("No such install in this account.")
        return install

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["connectors"] and attrs["reconnect_install"] is None:
            raise serializers.ValidationError("Choose at least one connector, or an install "
                                              "to reconnect.")
        return attrs


class InstallLinkSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="Shown this once: only its hash is stored.")
    expires_at = serializers.DateTimeField()


# --- events ----------------------------------------------------------------------------


class EventQuery(serializers.Serializer[Any]):
    account = serializers.CharField(required=False, max_length=200,
                                    help_text="An account's external id.")
    install = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    action = serializers.ChoiceField(choices=Action.values, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class EventSerializer(serializers.ModelSerializer[AuditEvent]):
    actor = serializers.SerializerMethodField()
    account: serializers.SlugRelatedField[Account] = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True, allow_null=True)
    connector: serializers.SlugRelatedField[Connector] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True)
    install: serializers.PrimaryKeyRelatedField[Install] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True)
    detail = serializers.DictField(read_only=True, help_text="Field names, statuses, error "
                                   "kinds, counts: never a value.")

    class Meta:
        model = AuditEvent
        fields = ["id", "action", "created_at", "actor", "account", "install", "connector",
                  "detail"]
        read_only_fields = fields

    def get_actor(self, event: AuditEvent) -> str:
        return event.actor.email if event.actor else event.actor_label


# --- Authentication Settings -----------------------------------------------------------


class AuthSettingsSerializer(serializers.Serializer[Any]):
    """A connector's Authentication Settings for the key's partner: never a secret value."""

    configured = serializers.BooleanField(help_text="Ready to offer: the settings are "
                                                    "saved, or the connector has no "
                                                    "partner-level field.")
    callback_url = serializers.URLField(help_text="Register this as the redirect URI of "
                                                  "your app at the provider.")
    values = serializers.DictField(child=serializers.CharField(),
                                   help_text="The saved non-secret partner-level values.")
    secrets_set = serializers.ListField(child=serializers.CharField(),
                                        help_text="The secret fields that have a saved value "
                                                  "(the value is never shown).")
    scopes = serializers.ListField(child=serializers.CharField(),
                                   help_text="The scopes new installs request (OAuth 2.0 and "
                                             "client credentials; else empty).")
    updated_at = serializers.DateTimeField(allow_null=True,
                                           help_text="When they were last saved.")
    updated_by = serializers.CharField(allow_null=True,
                                       help_text="Who saved them last: a member's email or "
                                                 "an API key.")


class AuthSettingsInput(serializers.Serializer[Any]):
    values = serializers.DictField(
        child=serializers.CharField(allow_null=True, allow_blank=True, trim_whitespace=False),
        help_text="Partner-level field key → new value, or null to clear it. A field left "
                  "out keeps its saved value (so does a secret: it is never shown back).")
    scopes = serializers.ListField(
        child=serializers.CharField(max_length=200, trim_whitespace=False, allow_blank=True),
        required=False,
        max_length=100,
        help_text="The scopes new installs request, each an RFC 6749 scope-token; [] goes "
                  "back to the connector's defaults. Left out: unchanged.")


class ForceQuery(serializers.Serializer[Any]):
    force = serializers.BooleanField(required=False, default=False,
                                     help_text="Clear them even though installs use them.")
