"""All outbound HTTP to third parties goes through here.

Every session made here has a timeout on every request (OUTBOUND_TIMEOUT, token refreshes
REFRESH_TIMEOUT), which is also the request's total deadline: connecting, sending, waiting
and reading together (connectors/deadline.py: a watchdog shuts the socket of a request
still going when it passes, so a provider trickling its answer a byte at a time cannot
hold a worker or a web thread for longer), refuses unsafe URLs (not https, userinfo,
private/loopback/link-local/multicast addresses -- unless local providers are allowed in
development or with the sandbox), follows at most three
redirects (each hop checked), none at all while it fetches a token, and uses one
transport that tests replace (`transport`) to talk to the sandbox in-process.

The default transport connects to the address that passed the check, never to a second
DNS answer (DNS rebinding), while TLS still sends and verifies the host name; each request's
host is resolved once, for the check and the connection both.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session as AuthlibOAuth2Session
from django.conf import settings
from oauthlib.oauth2 import InsecureTransportError, OAuth2Error
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests_oauthlib import OAuth1Session, OAuth2Session

from connectors.deadline import WATCHED_POOLS, send_by_deadline
from connectors.deadline import past_deadline as past_deadline  # its callers' name for it

LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1", "testserver"}
MAX_REDIRECTS = 3


class UnsafeURL(ValueError):
    """A URL the server must not call (SSRF protection)."""


class ProtocolError(requests.RequestException):
    """oauthlib could not sign or authorise a request (e.g. "Unsupported token type").

    A RequestException, so every caller that maps transport failures maps this too: an
    error page, never a 500. The message is fixed: oauthlib's may quote a token.
    """


class RedirectRefused(requests.RequestException):
    """A request carrying a secret was answered with a redirect, which is not followed."""


# IPv6 ranges whose last 32 bits are an IPv4 address a gateway or the kernel may reach:
# IPv4-compatible and -mapped (RFC 4291), SIIT (RFC 2765), NAT64 (RFC 6052, RFC 8215).
# Python counts some of them as global, so the embedded address is checked too.
_IPV4_EMBEDDING = [ipaddress.ip_network(net) for net in (
    "::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48")]


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address. Python counts most multicast ranges as global."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.sixtofour  # 6to4 (RFC 3056)
        if embedded is None and any(address in net for net in _IPV4_EMBEDDING):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not _is_public(embedded):
            return False
    return address.is_global and not address.is_multicast



def _public_address(host: str) -> str:
    """The address to connect to for `host`: its first, when every one it resolves to is
    public (a name that also resolves to a private address is refused as a whole)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        infos = []
    addresses = [str(info[4][0]).split("%")[0] for info in infos]
    if not addresses or not all(_is_public(ipaddress.ip_address(a)) for a in addresses):
        raise UnsafeURL("Endpoints must be public internet addresses.")
    return addresses[0]


def checked_address(url: str) -> str | None:
    """Check `url` (raise UnsafeURL unless the server may call it) and return the address
    that passed, to connect to; None for a local provider allowed by the settings."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise UnsafeURL("URLs must not contain a user name or password.")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeURL("The URL has no host.")
    if is_local(parts.scheme, host):
        return None
    if parts.scheme != "https":
        raise UnsafeURL("Endpoints must use https://.")
    return _public_address(host)


def _address_checked_for(request: requests.PreparedRequest) -> str | None:
    """The address `_checked_send` let through for this very request and URL, else the
    URL checked now (the adapter used on its own, or a URL changed since)."""
    url = request.url or ""
    checked: tuple[str, str | None] | None = getattr(request, "_checked", None)
    if checked is not None and checked[0] == url:
        return checked[1]
    return checked_address(url)


def check_url(url: str) -> None:
    """Raise UnsafeURL unless the server may send a request to `url`."""
    checked_address(url)


def is_local(scheme: str, host: str) -> bool:
    """A local provider (http or https) the settings allow: development and the sandbox."""
    return bool(settings.ALLOW_LOCAL_PROVIDERS) and scheme in ("http", "https") and (
        host in LOCAL_HOSTS or host.endswith(".localhost"))


def resolves(host: str) -> bool:
    """Whether the name resolves now (for checks of entered URLs: connectors/hosts.py)."""
    try:
        return bool(socket.getaddrinfo(host, None))
    except (socket.gaierror, UnicodeError):
        return False


def is_literal(host: str) -> bool:
    """An address written as one (any form inet_aton reads: 127.1, 0x7f000001, [::1])."""
    try:
        socket.inet_aton(host)
        return True
    except OSError:
        pass
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


class PinnedAdapter(HTTPAdapter):
    """Connects to the address the check let through, so a name that answers a public
    address to the check and 127.0.0.1 to the connection cannot reach 127.0.0.1.

    The connection pool is keyed on that address; TLS gets the host name for SNI and for
    certificate verification, and the Host header names the host. Through an HTTPS proxy
    the tunnel is opened to the checked address as well. Its connections are watched
    for their request's total deadline (connectors/deadline.py).
    """

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = WATCHED_POOLS
        return manager

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: float | tuple[float | None, float | None] | None = None,
             verify: bool | str = True, cert: str | tuple[str, str] | None = None,
             proxies: dict[str, str] | None = None) -> requests.Response:
        address = _address_checked_for(request)
        # A copy: the original request is what redirects are rebuilt from.
        request = request.copy()
        request.checked_address = address  # type: ignore[attr-defined]
        request.headers["Host"] = urlsplit(request.url or "").netloc
        return super().send(request, stream, timeout, verify, cert, proxies)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert)
        address = getattr(request, "checked_address", None)
        if address is not None:
            if host_params["scheme"] == "https":
                pool_kwargs["server_hostname"] = host_params["host"]
                pool_kwargs["assert_hostname"] = host_params["host"]
            host_params["host"] = address
        return host_params, pool_kwargs


class SharedPinnedAdapter(PinnedAdapter):
    """The one adapter every session of a process uses, so that connections (and their TLS
    handshakes) to a provider are kept between requests instead of opened for each.

    Pools are keyed on the checked address and the host name, so a kept connection only
    serves the host and address it was opened for. Closing a session leaves the pools
    alone: they belong to every other session too (urllib3 bounds them, 10 hosts of at
    most 10 connections, and drops a connection the server closed).
    """

    def close(self) -> None:
        pass


_shared_adapter = SharedPinnedAdapter(max_retries=0)


def default_transport() -> BaseAdapter:
    return _shared_adapter


@functools.cache
def environment_ca_bundle() -> str | None:
    """The CA bundle the environment names (REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE), read
    once: the environment does not change while the process runs."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


@functools.cache
def environment_has_proxies() -> bool:
    """Whether the environment names an outbound proxy (HTTPS_PROXY and the like)."""
    return bool(urllib.request.getproxies())


def read_environment_once(session: requests.Session) -> None:
    """With trust_env, requests reads the whole environment for proxies (and ~/.netrc) at
    every request: a tenth of a proxied call's CPU (docs/benchmarks.md). Without a proxy
    configured, the one setting it would find is the CA bundle, read once here instead; a
    provider's credentials never come from a .netrc. With a proxy, requests keeps reading
    the environment per request, for NO_PROXY's per-host exceptions."""
    if not environment_has_proxies():
        session.trust_env = False
        if (bundle := environment_ca_bundle()) and session.verify is True:
            session.verify = bundle


# Tests point this at an in-process adapter that serves the sandbox app.
transport: Callable[[], BaseAdapter] = default_transport


class _Guarded:
    """Mixin for requests.Session subclasses: the replaceable transport, at most three
    redirects, and a URL check and a timeout on every send."""

    #: False while a request carrying a secret is sent: a 307 would re-send it elsewhere.
    follow_redirects = True

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        adapter = transport()
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self.max_redirects = MAX_REDIRECTS
        read_environment_once(self)

    def send(self: Any, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if not self.follow_redirects:
            kwargs["allow_redirects"] = False
        response = _checked_send(super().send, request, kwargs)  # type: ignore[misc]
        if not self.follow_redirects and response.is_redirect:
            raise RedirectRefused(f"HTTP {response.status_code} redirect not followed.",
                                  response=response)
        return response

    def forward(self: Any, method: str, url: str, *, headers: Mapping[str, str],
                body: bytes | None) -> requests.Response:
        """One request passed on as it is (the API's proxy): the answer streamed, a
        redirect returned rather than followed."""
        response: requests.Response = self.request(method, url, data=body, headers=headers,
                                                   stream=True, allow_redirects=False)
        return response

    @contextmanager
    def secret_bearing(self: Any) -> Iterator[None]:
        """No redirects for the requests sent inside (token requests carry secrets)."""
        previous, self.follow_redirects = self.follow_redirects, False
        try:
            yield
        finally:
            self.follow_redirects = previous


def _checked_send(send: Callable[..., requests.Response], request: requests.PreparedRequest,
                  kwargs: dict[str, Any]) -> requests.Response:
    """`send` once the URL has passed the check, with a timeout that is also its deadline.
    The address that passed is noted on the request for the pinned adapter to connect to,
    so each request's host is resolved once, not once to check and again to connect."""
    url = request.url or ""
    request._checked = (url, checked_address(url))  # type: ignore[attr-defined]
    if not kwargs.get("timeout"):
        kwargs["timeout"] = settings.OUTBOUND_TIMEOUT
    return send_by_deadline(send, request, kwargs)


class Session(_Guarded, requests.Session):
    """A plain session (API key, basic, verify and revocation requests)."""

    def forward(self, method: str, url: str, *, headers: Mapping[str, str],
                body: bytes | None) -> requests.Response:
        """`_Guarded.forward` without the parts of requests' `Session.request` a plain
        session has no use for: merging in its cookies, hooks and the environment's
        settings, then handling cookies and redirects in `Session.send` -- with the empty
        parameters below, 0.64M of a proxied call's 2.37M outbound instructions
        (docs/benchmarks.md). The request is prepared from the session's headers, query
        parameters and auth, as requests would, and goes to the same adapter, checked and
        under its deadline like every send. A session
        holding cookies or hooks, or one reading an outbound proxy from the environment,
        takes requests' own path."""
        if self.trust_env or self.cookies or any(self.hooks.values()):
            return super().forward(method, url, headers=headers, body=body)
        merged = CaseInsensitiveDict(self.headers)
        merged.update(headers)
        prepared = requests.PreparedRequest()
        # No parameters as None, not {}: requests works an empty mapping through its
        # runtime-checked Protocol, 0.14M instructions for nothing.
        prepared.prepare(method=method.upper(), url=url, headers=merged, data=body,
                         params=self.params or None, auth=self.auth)
        return _checked_send(self._adapter_send, prepared, {
            "stream": True, "verify": self.verify, "cert": self.cert, "proxies": self.proxies})

    def _adapter_send(self, request: requests.PreparedRequest,
                      **kwargs: Any) -> requests.Response:
        """The adapter's send, looked up only once the URL has passed the check (as in
        `Session.send`: a URL no adapter serves, ftp:// say, is an UnsafeURL first)."""
        return self.get_adapter(request.url or "").send(request, **kwargs)


class _Signed(_Guarded):
    """Mixin for the OAuth sessions: oauthlib's complaints while authorising a request
    (an unsupported token type, an expired token) become a ProtocolError."""

    def request(self: Any, *args: Any, **kwargs: Any) -> requests.Response:
        try:
            # A mixin: mypy cannot see the session class after it in every subclass's MRO.
            return super().request(*args, **kwargs)  # type: ignore[misc, no-any-return]
        except (UnsafeURL, InsecureTransportError, requests.RequestException):
            raise
        except (ValueError, OAuth2Error):
            raise ProtocolError("The request could not be authorised with these "
                                "credentials.") from None


class OAuth1(_Signed, OAuth1Session):
    """requests-oauthlib's OAuth 1.0a session, guarded; its token requests never redirect."""

    def fetch_request_token(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        with self.secret_bearing():
            return super().fetch_request_token(*args, **kwargs)

    def fetch_access_token(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        with self.secret_bearing():
            return super().fetch_access_token(*args, **kwargs)


class OAuth2(_Signed, OAuth2Session):
    """requests-oauthlib's OAuth 2.0 session, guarded; its token requests never redirect.

    With `json_bodies` the form bodies requests-oauthlib builds (token and refresh
    requests) are sent as JSON instead, for providers that take only JSON.
    """

    json_bodies = False

    # OAuth2Session.request takes Session.request's arguments in another order (its stubs
    # ignore that override too); this one takes OAuth2Session's.
    def request(  # type: ignore[override]
            self, method: str | bytes, url: str | bytes, data: Any = None,
            headers: Any = None, *args: Any, **kwargs: Any) -> requests.Response:
        if self.json_bodies and isinstance(data, dict):
            headers = {**(headers or {}), "Content-Type": "application/json"}
            kwargs["json"] = data
            return super().request(method, url, None, headers, *args, **kwargs)
        return super().request(method, url, data, headers, *args, **kwargs)

    def fetch_token(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        with self.secret_bearing():
            return super().fetch_token(*args, **kwargs)

    def refresh_token(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """A refresh gets REFRESH_TIMEOUT (longer than OUTBOUND_TIMEOUT): a provider that
        rotates refresh tokens invalidates the old one when it answers, so an answer given
        up on loses the grant."""
        kwargs.setdefault("timeout", settings.REFRESH_TIMEOUT)
        with self.secret_bearing():
            return super().refresh_token(*args, **kwargs)


#: An authorised session, as an auth method opens it (`AuthMethod.session`).
Guarded = Session | OAuth1 | OAuth2


@dataclass(frozen=True)
class Answer:
    """What a URL someone else chose answered: the status and the first bytes of the body."""

    status_code: int
    body: bytes
    seconds: float


def post_untrusted(url: str, *, data: bytes, headers: dict[str, str], timeout: float,
                   max_bytes: int) -> Answer:
    """POST to a URL a partner entered (a webhook endpoint): checked and pinned like every
    request, never redirected (RedirectRefused), at most `max_bytes` of the answer read
    (undecoded, so a compressed bomb stays small) and `timeout` seconds in all -- a
    receiver trickling an endless body is cut off too (requests.Timeout)."""
    started = time.monotonic()
    with Session() as session, session.secret_bearing():
        response = session.post(url, data=data, headers=headers, timeout=timeout, stream=True)
        try:
            body = _read_at_most(response, max_bytes, deadline=started + timeout)
        finally:
            response.close()
    return Answer(response.status_code, body, time.monotonic() - started)


def _read_at_most(response: requests.Response, max_bytes: int, *, deadline: float) -> bytes:
    """`read1`: whatever one socket read brings (`read` would wait for a whole buffer,
    however slowly it trickles in), so the deadline is checked between any two reads."""
    chunks: list[bytes] = []
    size = 0
    while size < max_bytes:
        if time.monotonic() > deadline:
            raise requests.Timeout("The response took longer than the timeout.")
        chunk = response.raw.read1(min(8192, max_bytes - size), decode_content=False)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def get_untrusted(url: str, *, timeout: float, max_bytes: int) -> Answer:
    """GET a URL a partner entered (an identity provider's discovery document or JWKS):
    checked and pinned like every request, redirects checked hop by hop, at most
    `max_bytes` of the answer read and `timeout` seconds in all."""
    started = time.monotonic()
    with Session() as session:
        response = session.get(url, timeout=timeout, stream=True,
                               headers={"Accept": "application/json"})
        try:
            body = _read_at_most(response, max_bytes, deadline=started + timeout)
        finally:
            response.close()
    return Answer(response.status_code, body, time.monotonic() - started)


class OIDCClient(_Guarded, AuthlibOAuth2Session):  # type: ignore[misc]  # Authlib: untyped
    """Authlib's OAuth 2.0 client session (the console's single sign-on: authorization URL
    with PKCE, the code exchange and its client authentication), guarded like every
    session here; the token request never redirects."""

    def fetch_token(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        with self.secret_bearing():
            token: dict[str, Any] = super().fetch_token(*args, **kwargs)
            return token
