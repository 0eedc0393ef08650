"""Lookups after sign-in and after import: the catalogue's `[[post_connection]]` requests,
sent with the new credentials before anything is stored.

```toml
[[post_connection]]
request = "GET https://api.atlassian.com/oauth/token/accessible-resources"
capture = { cloud_id = "0.id" }
```

Each request goes through the method's authorised session (its `[api] headers` too),
checked and pinned by the outbound guard, never redirected. Its JSON answer must hold every
captured path (a number indexes a list); each value must match its `level = "captured"`
field's pattern. The values join the method's values at once, so a later lookup, the
verify request and the base URL can use them (`https://api.atlassian.com/ex/jira/{cloud_id}`).
Any failure -- a refusal, an unavailable provider, an answer that is not JSON, a missing
or malformed value -- raises an AuthError whose message is safe to show and names the
field, never the value: the sign-in or import fails and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from connectors.auth.base import (
    AuthError,
    AuthMethod,
    Credentials,
    ErrorKind,
    checked_capture,
    outbound_errors,
    raise_if_unavailable,
)
from connectors.schema import PostConnection

WHAT = "The lookup after sign-in"


def path_get(data: Any, path: str) -> Any:
    """The value at a dotted path; a number part indexes a list ("0.id")."""
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def run(method: AuthMethod, credentials: Credentials) -> None:
    """Run every lookup with `credentials`; add what they capture to
    `credentials.captured` (and the method's values), or raise AuthError."""
    for lookup in method.spec.post_connection:
        captured = capture(method, lookup, answer(method, lookup, credentials.data))
        method.context.values.update(captured)
        credentials.captured.update(captured)


def answer(method: AuthMethod, lookup: PostConnection, data: dict[str, Any]) -> Any:
    """The lookup's JSON answer, or AuthError."""
    url = method.api_url(lookup.url)
    with outbound_errors(WHAT):
        response = method.session(data).request(lookup.verb, url, allow_redirects=False)
    status = response.status_code
    raise_if_unavailable(response, WHAT + " found the provider unavailable (HTTP {status}); "
                                          "try again later.")
    if status >= 300:  # a redirect is not followed: the request carries the token
        verb = "was refused by the provider" if status >= 400 else "failed"
        raise AuthError(f"{WHAT} {verb} (HTTP {status}), so sign-in was stopped.",
                        kind=ErrorKind.TOKEN_ERROR)
    try:
        return response.json()
    except ValueError:
        raise AuthError(f"{WHAT} got an answer that could not be read, so sign-in was "
                        "stopped.", kind=ErrorKind.TOKEN_ERROR) from None


def capture(method: AuthMethod, lookup: PostConnection, body: Any) -> dict[str, str]:
    """The captured values of one answer, each checked against its field's pattern."""
    values: dict[str, str] = {}
    for key, path in lookup.capture.items():
        spec_field = method.spec.field(key)
        if spec_field is None:  # the schema ties every capture to a captured field
            raise AuthError("This connector's lookup names no field.",
                            kind=ErrorKind.CONFIGURATION)
        raw = path_get(body, path)
        value = raw if isinstance(raw, str) else str(raw) if type(raw) is int else ""
        if checked_capture(spec_field, value):
            values[key] = value
    return values
