"""The connector catalogue and the partner-level side of authentication."""

from __future__ import annotations

import copy
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet

from accounts.models import Partner
from connectors.auth import AUTH_METHODS
from connectors.schema import AUTH_TYPE_LABELS, ConnectorSpec
from core.fields import EncryptedJSONField
from core.tokens import new_version

#: Specs built in this process, by connector (id, slug): the data each was built from, and
#: the spec. Bounded: cleared when full (custom connectors are many partners' own).
_built_specs: dict[tuple[int, str], tuple[dict[str, Any], ConnectorSpec]] = {}
BUILT_SPECS_MAX = 4096


class Category(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Catalogue(models.Model):
    """The catalogue as a whole, in one row: a version that every change to connectors or
    categories replaces, and the category names the library's filter offers.

    Catalogue pages are cached by this version (`connectors.cards.cached_listing`), so
    one query tells every process whether what it rendered is still the catalogue.
    """

    ROW = 1

    version = models.BigIntegerField(default=new_version, editable=False,
                                     help_text="Replaced by a new random value on every change.")
    category_names = models.JSONField(default=list, editable=False)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"catalogue version {self.version}"

    @classmethod
    def current(cls) -> Catalogue:
        """The row (made again if a test run emptied the table, as a migration made it)."""
        try:
            return cls.objects.get(pk=cls.ROW)
        except cls.DoesNotExist:
            return cls.changed()

    @classmethod
    def changed(cls) -> Catalogue:
        """Record a change: in the transaction that changed connectors or categories."""
        catalogue, _ = cls.objects.update_or_create(pk=cls.ROW, defaults={
            "version": new_version(),
            "category_names": list(Category.objects.values_list("name", flat=True)),
        })
        return catalogue


#: The slugs of the sandbox's own connectors (category "Sandbox", URLs on this server's
#: `/sandbox/`): they exist only where the sandbox runs (SANDBOX_ENABLED). A provider's own
#: sandbox ("paypal-sandbox") is an ordinary connector.
SANDBOX_SLUG_PREFIX = "sandbox-"


class ConnectorQuerySet(models.QuerySet["Connector"]):
    def active(self, partner: Partner | None) -> ConnectorQuerySet:
        """The connectors that may be listed, offered and installed: not retired, and not
        the sandbox's unless it runs (checked on each call: settings decide, not imports).

        `partner` is whose custom connectors are included (`visible_to`); None gives the
        catalogue alone. It is required, so no lookup forgets whose connectors it means."""
        active = self.visible_to(partner).filter(retired_at__isnull=True)
        if not settings.SANDBOX_ENABLED:
            active = active.exclude(slug__startswith=SANDBOX_SLUG_PREFIX)
        return active

    def catalogue(self) -> ConnectorQuerySet:
        """The catalogue's connectors (synced from TOML), no partner's custom ones."""
        return self.filter(owner__isnull=True)

    def custom(self, partner: Partner) -> ConnectorQuerySet:
        """The partner's own custom connectors, retired ones included."""
        return self.filter(owner=partner)

    def visible_to(self, partner: Partner | None) -> ConnectorQuerySet:
        """The catalogue and `partner`'s custom connectors -- never another partner's. A
        catalogue connector whose slug the partner's own has is left out: the partner
        keeps its own (a later catalogue may add a slug a partner already uses)."""
        if partner is None:
            return self.catalogue()
        own = Connector.objects.filter(owner=partner, slug=OuterRef("slug"))
        return self.filter(Q(owner=partner) | (Q(owner__isnull=True) & ~Exists(own)))

    def with_configured(self, partner: Partner) -> ConnectorQuerySet:
        """Annotate `is_configured` ("Ready"): the partner has saved its Authentication
        Settings, or the connector has no partner-level field to save."""
        saved = PartnerAuthSettings.objects.filter(
            partner=partner, connector=OuterRef("pk"), saved_at__isnull=False
        )
        return self.annotate(is_configured=ExpressionWrapper(
            Exists(saved) | Q(needs_partner_settings=False), output_field=BooleanField()))


class Connector(models.Model):
    """One catalogue entry, synced from `connectors/catalog/<slug>.toml`, or a partner's
    custom connector (`owner` set, made in the console or by the API: connectors/custom.py),
    validated by the same models and seen by that partner alone."""

    slug = models.SlugField(max_length=100)
    owner = models.ForeignKey(
        "accounts.Partner", on_delete=models.CASCADE, null=True, blank=True,
        related_name="custom_connectors",
        help_text="The partner whose custom connector this is; empty for the catalogue's.")
    name = models.CharField(max_length=100)
    description = models.TextField()
    categories = models.ManyToManyField(Category, related_name="connectors", blank=True)
    # Category names, denormalised at sync so the library renders without a join.
    category_names = models.JSONField(default=list, blank=True)
    auth_type = models.CharField(max_length=32, choices=list(AUTH_TYPE_LABELS.items()))
    spec_data = models.JSONField(help_text="The validated catalogue file.")
    # Lower-cased name, description and categories, for the library's search box.
    search_text = models.TextField(editable=False, default="")
    synced_at = models.DateTimeField(auto_now=True)
    retired_at = models.DateTimeField(null=True, blank=True,
                                      help_text="Set when the catalogue file was removed.")
    # Derived at sync from the fields, so the library can tell "Ready" without the spec.
    needs_partner_settings = models.BooleanField(
        default=True, editable=False,
        help_text="It has partner-level fields: Authentication Settings to save once.")
    is_example = models.BooleanField(
        default=False, editable=False,
        help_text="Its endpoints are placeholders on the reserved .example domain.")

    objects = ConnectorQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["slug"], condition=Q(owner__isnull=True),
                                    name="one_catalogue_connector_per_slug"),
            models.UniqueConstraint(fields=["owner", "slug"], condition=Q(owner__isnull=False),
                                    name="one_custom_connector_per_partner_slug"),
        ]
        indexes = [
            models.Index(fields=["auth_type"]),
            # The library's unfiltered pages: the first 48 active connectors by name are read
            # from the index instead of sorting the whole catalogue.
            models.Index(fields=["name"], condition=models.Q(retired_at__isnull=True),
                         name="connector_active_by_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def spec(self) -> ConnectorSpec:
        """Its stored data, validated into a spec. Every request loads its connector afresh,
        and building the spec (pydantic, with the rules' callbacks) was 0.23M of the 3.5M
        instructions a credentials read adds to the key check (docs/benchmarks.md, "Hot
        paths near their floor"). So a spec is reused, in this process, while the
        connector's data is equal to what it was built from. Specs are frozen; a changed
        connector gets a new one."""
        key = (self.pk, self.slug)
        known = _built_specs.get(key)
        if known is not None and known[0] == self.spec_data:
            return known[1]
        spec = ConnectorSpec.from_data(self.slug, self.spec_data)
        if self.pk is not None:
            if len(_built_specs) >= BUILT_SPECS_MAX:
                _built_specs.clear()
            _built_specs[key] = (copy.deepcopy(self.spec_data), spec)
        return spec

    @property
    def is_custom(self) -> bool:
        """A partner's own connector, not the catalogue's."""
        return self.owner_id is not None

    @property
    def source(self) -> str:
        return "custom" if self.is_custom else "catalogue"

    @property
    def auth_type_label(self) -> str:
        return AUTH_TYPE_LABELS.get(self.auth_type, self.auth_type)

    @property
    def uses_callback(self) -> bool:
        """Whether its provider sends people back to the callback URL (a browser flow)."""
        return AUTH_METHODS[self.auth_type].browser_flow


class PartnerAuthSettingsQuerySet(QuerySet["PartnerAuthSettings"]):
    def for_partner(self, partner: Partner) -> PartnerAuthSettingsQuerySet:
        return self.filter(partner=partner)


class PartnerAuthSettings(models.Model):
    """A partner's own credentials for one connector (e.g. its OAuth app's key/secret).

    Values left blank are asked for when the connector is installed into an account.
    Saving at least once closes the padlock in the library (`saved_at`).
    """

    partner = models.ForeignKey("accounts.Partner", on_delete=models.CASCADE,
                                related_name="auth_settings")
    # RESTRICT, not PROTECT: a connector with settings is not deleted on its own, but a
    # partner's deletion takes its custom connectors and its settings for them together.
    connector = models.ForeignKey(Connector, on_delete=models.RESTRICT,
                                  related_name="partner_settings")
    values = models.JSONField(default=dict, blank=True, help_text="Non-secret field values.")
    secret_values = EncryptedJSONField()
    saved_at = models.DateTimeField(null=True, blank=True)
    saved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                 null=True, blank=True, related_name="+")
    scopes = models.JSONField(
        null=True, blank=True,
        help_text="The scopes new installs request (OAuth 2.0, client credentials); null: "
                  "the catalogue's defaults.")
    shared_callback = models.BooleanField(
        default=False,
        help_text="Saved when every connector shared one callback URL: sign-ins keep using "
                  "it until the partner has registered the connector's own and switches.")

    objects = PartnerAuthSettingsQuerySet.as_manager()

    class Meta:
        verbose_name = "partner authentication settings"
        verbose_name_plural = "partner authentication settings"
        constraints = [
            models.UniqueConstraint(fields=["partner", "connector"],
                                    name="one_auth_settings_per_partner_connector"),
        ]

    def __str__(self) -> str:
        return f"{self.connector} settings for {self.partner}"

    def value(self, key: str) -> str:
        """The saved value of a partner-level field, secret or not ('' when blank)."""
        return self.secret_values.get(key) or self.values.get(key) or ""

    def sign_in_scopes(self, spec: ConnectorSpec) -> tuple[str, ...]:
        """The scopes a new sign-in requests: the partner's choice, else the defaults."""
        return tuple(self.scopes) if self.scopes is not None else spec.auth.scopes

    def is_set(self, key: str) -> bool:
        return bool(self.value(key))


# --- Discovery and dynamic client registration (connectors/dynamic.py) ------------------


class DiscoveredServer(models.Model):
    """An authorization server's metadata (RFC 8414 / OpenID Connect discovery), fetched
    for its issuer and kept (connectors/dynamic.py fetches it again once a day)."""

    issuer = models.CharField(max_length=500, unique=True)
    metadata = models.JSONField(help_text="The checked metadata Hatchway uses.")
    fetched_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.issuer


class DynamicClient(models.Model):
    """A client Hatchway registered for a partner at an authorization server (RFC 7591):
    one per partner, issuer and callback URL. Its id and secret are stored encrypted."""

    partner = models.ForeignKey("accounts.Partner", on_delete=models.CASCADE,
                                related_name="dynamic_clients")
    issuer = models.CharField(max_length=500)
    redirect_uri = models.CharField(max_length=500)
    client = EncryptedJSONField(help_text="client_id and client_secret, encrypted.")
    token_endpoint_auth_method = models.CharField(max_length=30)
    registered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "issuer", "redirect_uri"],
                                    name="one_dynamic_client_per_partner_issuer_callback"),
        ]

    def __str__(self) -> str:
        return f"client of {self.partner} at {self.issuer}"
