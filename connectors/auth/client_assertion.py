"""`token_auth = "private_key_jwt"`: the client authenticates at the token endpoint with a
JWT it signs with its private key (RFC 7523 §2.2 and §3; OpenID Connect Core §9).

Used by the OAuth 2.0 modes (authorization code and client credentials) for the token,
refresh and revoke requests. The connector's `private_key` field (partner-level, secret:
a PEM private key, RSA or EC P-256) signs, with RS256 or ES256 by the key's type; an
optional `key_id` field becomes the JWT `kid`. Each request gets a new assertion:

    iss = sub = client_id, aud = the token endpoint URL, jti (random), iat, exp = iat + 5 min

sent as `client_assertion_type = urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
and `client_assertion`, with `client_id`. The key is read and checked by
`connectors.auth.keys` (as for `jwt_bearer`; Authentication Settings check it on save): a
key that cannot sign is a configuration error saying why, never showing the key. The
assertion is a credential too: it is never logged, shown or stored.
"""

from __future__ import annotations

import secrets
import time

from connectors.auth.base import AuthError, ErrorKind
from connectors.auth.keys import KeyProblem, load_signing_key, sign
from connectors.schema import PRIVATE_KEY_FIELD

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LIFETIME = 300
KEY_FIELD = PRIVATE_KEY_FIELD


def signing_key(pem: str) -> tuple[bytes, str]:
    """The key's PEM and its algorithm (RS256 or ES256), or AuthError (configuration)."""
    if not pem:
        raise AuthError("The Private key is missing. Enter it in the Authentication Settings.",
                        kind=ErrorKind.CONFIGURATION)
    try:
        return load_signing_key(pem)
    except KeyProblem as problem:
        raise AuthError(f"The private key cannot be used: {problem.message} Enter it again "
                        "in the Authentication Settings.",
                        kind=ErrorKind.CONFIGURATION) from None


def client_assertion(*, client_id: str, audience: str, pem: str, key_id: str = "") -> str:
    """A new signed client assertion for one request to `audience`."""
    key, algorithm = signing_key(pem)
    now = int(time.time())
    header = {"kid": key_id} if key_id else {}
    claims = {"iss": client_id, "sub": client_id, "aud": audience,
              "jti": secrets.token_urlsafe(24), "iat": now, "exp": now + LIFETIME}
    return sign(header, claims, key, algorithm)


def assertion_params(*, client_id: str, audience: str, pem: str, key_id: str = ""
                     ) -> dict[str, str]:
    """The body parameters authenticating the client with a new assertion."""
    return {"client_id": client_id, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(client_id=client_id, audience=audience,
                                                 pem=pem, key_id=key_id)}
