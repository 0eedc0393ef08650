"""Calling a provider's API as an install, for the partner's backend (the API's proxy).

The request goes to the connector's API base URL joined with a path that cannot leave it,
through the install's authorised session (`AuthMethod.session`: bearer token, OAuth 1.0a
signature, API key, basic -- plus the catalogue's `[api] headers`), so every call passes
connectors/http.py: the SSRF guard, the pinned address and the timeout. The token is
refreshed first when due; a 401 forces one refresh and one retry -- unless the token was
refreshed less than PROXY_REFRESH_COOLDOWN ago: then the 401 is passed back, so a provider
refusing every call costs no refresh storm (concurrent 401s share one refresh under the
row lock, `refresh.ensure_fresh`). Redirects are passed
back, never followed (a followed redirect would carry the key to another host).

Bodies are bounded both ways by `max_body`. The response is streamed when the provider
says its length, and read up to the limit otherwise (so an answer over it can still be
refused with 413). The request body arrives read, up to the limit (core/middleware.py
refuses a larger Content-Length before a byte is read): a retry after a 401 sends it
again, and an OAuth 1.0a signature covers a form body, so it cannot be a one-pass stream.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from urllib.parse import unquote

import requests
from django.conf import settings
from oauthlib.oauth2 import InsecureTransportError

from connectors.http import UnsafeURL, past_deadline
from installs import refresh
from installs.credentials import NotWorking, working
from installs.models import Install
from installs.values import Setup

log = logging.getLogger("hatchway.proxy")

CHUNK = 64 * 1024
#: Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the proxy sets itself.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "proxy-connection", "te", "trailer", "trailers", "transfer-encoding",
                        "upgrade", "content-length", "content-encoding"})
#: The partner's credentials for Hatchway, and what names the host: never forwarded.
NOT_FORWARDED = HOP_BY_HOP | {"authorization", "cookie", "host", "accept-encoding"}
#: The provider's headers that come back (RFC 9110 names): what describes the body, its
#: version, paging, back-off and rate limits. Nothing else -- its CSP, framing, HSTS, CORS,
#: cookies or caching would be served on this server's origin. Content-Length is set from
#: the body as returned, and Content-Encoding never applies: the body comes back decoded
#: (and bounded while decoding, so a compressed bomb is a 413).
RETURNED = frozenset({"content-type", "content-language", "content-range", "etag",
                      "last-modified", "link", "retry-after", "accept-ranges",
                      "mcp-session-id"})  # an MCP server's session (Streamable HTTP)
RETURNED_PREFIXES = ("ratelimit-", "x-ratelimit-")
#: Returned only with a redirect (3xx): elsewhere it names a provider URL to fetch.
REDIRECT_ONLY = frozenset({"location"})
SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
UNSAFE_CHARACTERS = frozenset("\\\r\n\t\0?#")


class RefusalCode(StrEnum):
    """Why the proxy did not pass on the provider's answer (the API's problem code)."""

    NO_BASE_URL = "no_base_url"
    UNSAFE_PATH = "unsafe_path"
    INVALID_HEADER = "invalid_header"
    NOT_AUTHENTICATED = "not_authenticated"
    TIMEOUT = "timeout"
    UNSAFE_URL = "unsafe_url"
    UNREACHABLE = "unreachable"
    RESPONSE_TOO_LARGE = "response_too_large"


class ProxyRefused(Exception):
    """The call was not (or could not be) made; `status` and a message safe to show."""

    def __init__(self, status: int, message: str, *, code: RefusalCode) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


@dataclass
class Answer:
    """The provider's answer: status, the headers safe to return, the body (bounded)."""

    status: int
    headers: dict[str, str]
    body: Iterator[bytes]
    length: int | None


def is_safe_path(path: str) -> bool:
    """The path stays under the base URL however often it is percent-decoded: no `..` or
    `.` segment, no `//`, no leading slash, no scheme, no backslash, query or control."""
    for _ in range(4):
        if (path.startswith("/") or "//" in path or SCHEME_RE.match(path)
                or UNSAFE_CHARACTERS.intersection(path)
                or any(segment in (".", "..") for segment in path.split("/"))):
            return False
        decoded = unquote(path)
        if decoded == path:
            return True
        path = decoded
    return False  # still encoded after four rounds: nobody legitimate sends that


def target_url(base_url: str, path: str, query: str) -> str:
    if not base_url:
        raise ProxyRefused(409, "This connector has no API base URL to call.",
                           code=RefusalCode.NO_BASE_URL)
    if not is_safe_path(path):
        raise ProxyRefused(400, "The path must stay under the connector's API base URL: "
                                "no '..', '//', absolute URL or encoded variant.",
                           code=RefusalCode.UNSAFE_PATH)
    return f"{base_url}/{path}" + (f"?{query}" if query else "")


def forwarded_headers(headers: Mapping[str, str], *, keep_out: set[str]) -> dict[str, str]:
    """The caller's headers minus credentials, hop-by-hop ones and those the install's
    session sets (`keep_out`: its authentication and the catalogue's headers win)."""
    listed = {h.strip().lower() for h in headers.get("Connection", "").split(",")}
    forwarded = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in NOT_FORWARDED or lowered in listed or lowered in keep_out:
            continue
        if any(c in value for c in "\r\n\0"):
            raise ProxyRefused(400, f"The header {name} holds a line break.",
                               code=RefusalCode.INVALID_HEADER)
        forwarded[name] = value
    return forwarded


def call(*, install: Install, verb: str, path: str, query: str, headers: Mapping[str, str],
         body: bytes, max_body: int) -> Answer:
    """Forward one request as `install`; raise ProxyRefused for what is not the
    provider's own answer (unsafe path, not authenticated, timeout, unreachable)."""
    fresh = _working(install)
    response = _send(fresh, verb, path, query, headers, body)
    if response.status_code == 401:
        renewed = _working(_renewed(fresh))
        if renewed.credentials != fresh.credentials:  # refreshed: retry once
            response.close()
            log.info("install %s: provider answered 401, retried with a new token", install.pk)
            response = _send(renewed, verb, path, query, headers, body)
    return _answer(response, max_body)


def _renewed(install: Install) -> Install:
    """After a 401: the install with a new token, unless another call refreshed it meanwhile
    (that token then) or within the cool-down (the same install: the 401 stands)."""
    cooldown = timedelta(seconds=settings.PROXY_REFRESH_COOLDOWN)
    return refresh.ensure_fresh(install, force=True, cooldown=cooldown)


def _working(install: Install) -> Install:
    try:
        return working(install)
    except NotWorking as exc:
        raise ProxyRefused(409, str(exc), code=RefusalCode.NOT_AUTHENTICATED) from None


def _send(install: Install, verb: str, path: str, query: str, headers: Mapping[str, str],
          body: bytes) -> requests.Response:
    method = Setup.of(install).method()
    url = target_url(method.base_url, path, query)
    if not path and method.spec.auth.discovery == "protected_resource":
        url = url.replace("/?", "?", 1) if query else url[:-1]  # an MCP server: its very URL
    session = method.session(dict(install.credentials))
    session.headers["Accept-Encoding"] = "identity"  # bytes returned exactly as sent
    if "accept" not in {name.lower() for name in method.api_headers}:
        # requests' default "*/*" is not the catalogue's: the caller's Accept goes through
        # (an MCP client asks for application/json and text/event-stream).
        session.headers.pop("Accept", None)
    keep_out = {name.lower() for name in session.headers}
    try:
        return session.forward(verb, url, body=body or None,
                               headers=forwarded_headers(headers, keep_out=keep_out))
    except requests.Timeout:
        raise ProxyRefused(504, "The provider did not answer in time.",
                           code=RefusalCode.TIMEOUT) from None
    except (UnsafeURL, InsecureTransportError):
        raise ProxyRefused(502, "The connector's API is at an address this server may not "
                                "call.", code=RefusalCode.UNSAFE_URL) from None
    except requests.RequestException as exc:
        log.warning("install %s: proxied call failed with %s", install.pk, type(exc).__name__)
        raise ProxyRefused(502, "The provider could not be reached.",
                           code=RefusalCode.UNREACHABLE) from None


def returned_headers(response: requests.Response) -> dict[str, str]:
    """The provider's headers on the allowlist (`RETURNED`, the rate-limit families, and
    Location on a redirect)."""
    allowed = RETURNED | REDIRECT_ONLY if response.is_redirect else RETURNED
    return {name: value for name, value in response.headers.items()
            if name.lower() in allowed or name.lower().startswith(RETURNED_PREFIXES)}


def _answer(response: requests.Response, max_body: int) -> Answer:
    headers = returned_headers(response)
    if is_event_stream(response):  # passed through as it comes, cut off at the limit
        return Answer(response.status_code, headers, _event_stream(response, max_body), None)
    length = _declared_length(response)
    if length is not None and length > max_body:
        response.close()
        raise _too_large(max_body)
    if length is None:  # read up to the limit before answering: the status can still change
        try:
            content = _read_at_most(response, max_body)
        except requests.RequestException:
            if past_deadline(response):
                raise ProxyRefused(504, "The provider did not answer in time.",
                                   code=RefusalCode.TIMEOUT) from None
            raise ProxyRefused(502, "The provider's answer broke off.",
                               code=RefusalCode.UNREACHABLE) from None
        return Answer(response.status_code, headers, iter([content]), len(content))
    return Answer(response.status_code, headers, _stream(response), length)


def _declared_length(response: requests.Response) -> int | None:
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        return None  # decoded on the way: the declared length is not what is returned
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _read_at_most(response: requests.Response, max_body: int) -> bytes:
    content = bytearray()
    try:
        for chunk in response.iter_content(CHUNK):
            content += chunk
            if len(content) > max_body:
                raise _too_large(max_body)
    finally:
        response.close()
    return bytes(content)


def _stream(response: requests.Response) -> Iterator[bytes]:
    try:
        yield from response.iter_content(CHUNK)
    except requests.RequestException as exc:  # the status is sent already: just stop
        log.warning("proxied answer broke off (%s)", type(exc).__name__)
    finally:
        response.close()


# --- Server-sent events (MCP's Streamable HTTP answers) -----------------------------------


def is_event_stream(response: requests.Response) -> bool:
    """A `text/event-stream` answer (MCP servers stream JSON-RPC answers so): it is passed
    on chunk by chunk as it arrives, not read up to the limit first."""
    content_type = response.headers.get("Content-Type", "")
    return content_type.split(";")[0].strip().lower() == "text/event-stream"


def _event_stream(response: requests.Response, max_body: int) -> Iterator[bytes]:
    """The events as they come, each chunk as soon as it is read; the stream ends at
    `max_body` bytes (its status is sent already, so it is cut off, not refused)."""
    sent = 0
    try:
        for chunk in _as_it_arrives(response):
            sent += len(chunk)
            if sent > max_body:
                log.warning("proxied event stream cut off at the proxy's limit")
                return
            yield chunk
    except requests.RequestException as exc:
        log.warning("proxied event stream broke off (%s)", type(exc).__name__)
    finally:
        response.close()


def _as_it_arrives(response: requests.Response) -> Iterator[bytes]:
    """Whatever one socket read brings (`read1`), so an event is not held back waiting for
    a whole buffer; a transport without a socket (the tests' in-process one) is iterated."""
    read1 = getattr(response.raw, "read1", None)
    if read1 is None:
        yield from response.iter_content(CHUNK)
        return
    while chunk := read1(CHUNK):
        yield chunk


def _too_large(max_body: int) -> ProxyRefused:
    return ProxyRefused(413, f"The provider's answer is larger than the proxy's limit "
                             f"({max_body} bytes).", code=RefusalCode.RESPONSE_TOO_LARGE)
