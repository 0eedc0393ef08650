"""All outbound HTTP to third parties goes through here.

Every session made here has a timeout on every request, refuses unsafe URLs (not
https, userinfo, private/loopback/link-local addresses -- unless local providers are
allowed in development or with the sandbox), and uses one transport that tests
replace (`transport`) to talk to the sandbox in-process.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from oauthlib.oauth2 import InsecureTransportError, OAuth2Error
from requests.adapters import BaseAdapter, HTTPAdapter
from requests_oauthlib import OAuth1Session, OAuth2Session

LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1", "testserver"}


class UnsafeURL(ValueError):
    """A URL the server must not call (SSRF protection)."""


class ProtocolError(requests.RequestException):
    """oauthlib could not sign or authorise a request (e.g. "Unsupported token type").

    A RequestException, so every caller that maps transport failures maps this too: an
    error page, never a 500. The message is fixed: oauthlib's may quote a token.
    """


# IPv6 ranges whose last 32 bits are an IPv4 address a gateway or the kernel may reach:
# IPv4-compatible and -mapped (RFC 4291), SIIT (RFC 2765), NAT64 (RFC 6052, RFC 8215).
# Python counts some of them as global, so the embedded address is checked too.
_IPV4_EMBEDDING = [ipaddress.ip_network(net) for net in (
    "::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48")]


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.sixtofour  # 6to4 (RFC 3056)
        if embedded is None and any(address in net for net in _IPV4_EMBEDDING):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not embedded.is_global:
            return False
    return address.is_global


def _is_public_address(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return False
    return all(_is_public(ipaddress.ip_address(info[4][0].split("%")[0])) for info in infos)


def check_url(url: str) -> None:
    """Raise UnsafeURL unless the server may send a request to `url`."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise UnsafeURL("URLs must not contain a user name or password.")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeURL("The URL has no host.")
    if settings.ALLOW_LOCAL_PROVIDERS and parts.scheme in ("http", "https") and (
        host in LOCAL_HOSTS or host.endswith(".localhost")
    ):
        return
    if parts.scheme != "https":
        raise UnsafeURL("Endpoints must use https://.")
    if not _is_public_address(host):
        raise UnsafeURL("Endpoints must be public internet addresses.")


def default_transport() -> BaseAdapter:
    return HTTPAdapter(max_retries=0)


# Tests point this at an in-process adapter that serves the sandbox app.
transport: Callable[[], BaseAdapter] = default_transport


class _Guarded:
    """Mixin for requests.Session subclasses: the replaceable transport, at most three
    redirects, and a URL check and a timeout on every send."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        adapter = transport()
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self.max_redirects = 3

    def send(self: Any, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        check_url(request.url or "")
        if not kwargs.get("timeout"):
            kwargs["timeout"] = settings.OUTBOUND_TIMEOUT
        return super().send(request, **kwargs)  # type: ignore[misc]


class Session(_Guarded, requests.Session):
    """A plain session (API key, basic, verify and revocation requests)."""


class _Signed(_Guarded):
    """Mixin for the OAuth sessions: oauthlib's complaints while authorising a request
    (an unsupported token type, an expired token) become a ProtocolError."""

    def request(self: Any, *args: Any, **kwargs: Any) -> requests.Response:
        try:
            return super().request(*args, **kwargs)  # type: ignore[misc]
        except (UnsafeURL, InsecureTransportError, requests.RequestException):
            raise
        except (ValueError, OAuth2Error):
            raise ProtocolError("The request could not be authorised with these "
                                "credentials.") from None


class OAuth1(_Signed, OAuth1Session):
    """requests-oauthlib's OAuth 1.0a session, guarded."""


class OAuth2(_Signed, OAuth2Session):
    """requests-oauthlib's OAuth 2.0 session, guarded.

    With `json_bodies` the form bodies requests-oauthlib builds (token and refresh
    requests) are sent as JSON instead, for providers that take only JSON.
    """

    json_bodies = False

    def request(self, method: str, url: str, data: Any = None, headers: Any = None,
                **kwargs: Any) -> requests.Response:
        if self.json_bodies and isinstance(data, dict):
            headers = {**(headers or {}), "Content-Type": "application/json"}
            kwargs["json"] = data
            return super().request(method, url, headers=headers, **kwargs)
        return super().request(method, url, data=data, headers=headers, **kwargs)
