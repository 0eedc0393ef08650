"""Resolving an oauth2 connector that discovers its endpoints or registers its client.

- `issuer = "https://…"` without endpoints: RFC 8414 / OpenID Connect metadata
  (connectors/discovery.py), stored as a `DiscoveredServer` and fetched again once a day;
- `registration = "dynamic"`: a client registered (RFC 7591, connectors/registration.py)
  once per partner, issuer and callback URL, stored encrypted as a `DynamicClient`; when
  the server no longer knows it (`invalid_client`), `resolve(..., replace=True)` registers
  a new one -- once, on that refusal;
- `discovery = "protected_resource"` (MCP servers): the issuer comes from the RFC 9728
  metadata of the server URL the customer entered, and `resource` is that URL (RFC 8707).

`resolver` returns the callable the auth method is given (`Context.discover`): it runs only
when the method needs endpoints or the client (begin, complete, refresh, revoke), never to
render a page. What it returns, by key: authorize_url, token_url, revoke_url, issuer,
iss_required, resource, client_id, client_secret, token_auth. Failures are AuthErrors with
messages safe to show (TransientError when trying later may help).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.auth.base import AuthError, ErrorKind, TransientError
from connectors.discovery import (
    DiscoveryError,
    ServerMetadata,
    check_identifier,
    discover_authorization_server,
    discover_protected_resource,
)
from connectors.models import DiscoveredServer, DynamicClient
from connectors.registration import (
    AUTH_METHOD_PREFERENCE,
    MCP_AUTH_METHOD_PREFERENCE,
    RegisteredClient,
    register_client,
)
from connectors.schema import ConnectorSpec
from connectors.templating import TemplateValueError, render_url
from core.fields import is_unreadable

log = logging.getLogger("hatchway.auth")

METADATA_LIFETIME = timedelta(days=1)
Resolver = Callable[[bool], dict[str, str]]


def resolver(spec: ConnectorSpec, values: dict[str, str], *, partner_id: int,
             redirect_uri: str) -> Resolver | None:
    """The resolving callable for `spec`, or None when it declares its endpoints."""
    if not spec.auth.discovers:
        return None

    def resolve(replace: bool = False) -> dict[str, str]:
        try:
            return _resolve(spec, values, partner_id=partner_id, redirect_uri=redirect_uri,
                            replace=replace)
        except DiscoveryError as error:
            if error.transient:
                raise TransientError(error.message) from None
            raise AuthError(error.message, kind=ErrorKind.CONFIGURATION) from None

    return resolve


def _resolve(spec: ConnectorSpec, values: dict[str, str], *, partner_id: int,
             redirect_uri: str, replace: bool) -> dict[str, str]:
    found: dict[str, str] = {}
    if spec.auth.discovery == "protected_resource":
        server_url = server_url_of(spec, values)
        resource = discover_protected_resource(server_url)
        issuer = resource.authorization_servers[0]
        found["resource"] = server_url
    else:
        issuer = filled(spec, spec.auth.issuer, values)
    metadata = server_metadata(issuer)
    found.update(authorize_url=metadata.authorization_endpoint,
                 token_url=metadata.token_endpoint, revoke_url=metadata.revocation_endpoint,
                 issuer=metadata.issuer,
                 iss_required="1" if metadata.iss_parameter_supported else "")
    if spec.auth.registration == "dynamic":
        preference = (MCP_AUTH_METHOD_PREFERENCE if spec.auth.discovery == "protected_resource"
                      else AUTH_METHOD_PREFERENCE)
        client = dynamic_client(partner_id, metadata, redirect_uri=redirect_uri,
                                client_name=f"Hatchway: {spec.name}", replace=replace,
                                preference=preference)
        found.update(client_id=client.client_id, client_secret=client.client_secret,
                     token_auth=client.token_endpoint_auth_method)
    return found


def server_url_of(spec: ConnectorSpec, values: dict[str, str]) -> str:
    """The catalogue's or the entered server URL, checked: https, no user name, query or
    fragment, at a public address."""
    spec_field = spec.server_url_field
    value = filled(spec, spec.auth.server_url, values) if spec.auth.server_url else (
        values.get(spec_field.key, "") if spec_field else "")
    if not value:
        raise DiscoveryError("Enter the server URL first.")
    check_identifier(value, "server URL")
    return value


def filled(spec: ConnectorSpec, template: str, values: dict[str, str]) -> str:
    """A catalogue URL with its placeholders filled (the sandbox's `{public_url}`)."""
    try:
        return render_url(template, values, spec.fields)
    except TemplateValueError:
        raise DiscoveryError("The connector's issuer or server URL cannot be filled in.") from None


def server_metadata(issuer: str) -> ServerMetadata:
    """The issuer's metadata: stored, or fetched (and stored) when missing or a day old."""
    row = DiscoveredServer.objects.filter(issuer=issuer).first()
    if row is not None and row.fetched_at > timezone.now() - METADATA_LIFETIME:
        return ServerMetadata.from_data(row.metadata)
    metadata = discover_authorization_server(issuer)
    DiscoveredServer.objects.update_or_create(issuer=issuer, defaults={
        "metadata": metadata.as_data(), "fetched_at": timezone.now()})
    return metadata


def dynamic_client(partner_id: int, metadata: ServerMetadata, *, redirect_uri: str,
                   client_name: str, replace: bool = False,
                   preference: tuple[str, ...] = AUTH_METHOD_PREFERENCE) -> RegisteredClient:
    """The partner's client at this issuer for this callback URL, registered when there is
    none yet (or `replace`: the server refused the stored one). Nothing is stored when the
    registration fails."""
    key: dict[str, Any] = {"partner_id": partner_id, "issuer": metadata.issuer,
                           "redirect_uri": redirect_uri}
    row = DynamicClient.objects.filter(**key).first()
    if row is not None and not replace and not is_unreadable(row.client):
        return RegisteredClient(client_id=row.client["client_id"],
                                client_secret=row.client.get("client_secret", ""),
                                token_endpoint_auth_method=row.token_endpoint_auth_method)
    client = register_client(metadata, redirect_uri=redirect_uri, client_name=client_name,
                             preference=preference)
    stored = {"client_id": client.client_id, "client_secret": client.client_secret}
    if row is not None:  # the server refused the stored one: this one replaces it
        row.client, row.token_endpoint_auth_method = stored, client.token_endpoint_auth_method
        row.save(update_fields=["client", "token_endpoint_auth_method", "registered_at"])
    else:
        try:
            with transaction.atomic():
                DynamicClient.objects.create(
                    **key, client=stored,
                    token_endpoint_auth_method=client.token_endpoint_auth_method)
        except IntegrityError:  # registered concurrently: the first one stored is the client
            return dynamic_client(partner_id, metadata, redirect_uri=redirect_uri,
                                  client_name=client_name, preference=preference)
    log.info("partner %s: client %s at %s", partner_id,
             "registered again" if row is not None else "registered", metadata.issuer)
    return client
