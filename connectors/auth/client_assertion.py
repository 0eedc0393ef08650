"""`token_auth = "private_key_jwt"`: the client authenticates at the token endpoint with a
JWT it signs with its private key (RFC 7523 §2.2 and §3; OpenID Connect Core §9).

Used by the OAuth 2.0 modes (authorization code and client credentials) for the token,
refresh and revoke requests. The connector's `private_key` field (partner-level, secret:
a PEM private key, RSA or EC P-256) signs, with RS256 or ES256 by the key's type; an
optional `key_id` field becomes the JWT `kid`. Each request gets a new assertion:

    iss = sub = client_id, aud = the token endpoint URL, jti (random), iat, exp = iat + 5 min

sent as `client_assertion_type = urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
and `client_assertion`, with `client_id`. A key that is not a PEM private key of those
types is a configuration error naming the field, never showing the key. The assertion is a
credential too: it is never logged, shown or stored.
"""

from __future__ import annotations

import re
import secrets
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from connectors.auth.base import AuthError, ErrorKind

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LIFETIME = 300
KEY_FIELD, KEY_ID_FIELD = "private_key", "key_id"
BAD_KEY = ("The Private key is not a PEM private key (RSA, or EC P-256) this connector can "
           "sign with. Enter it again in the Authentication Settings.")


# A PEM pasted into a one-line input (a password field drops the line breaks).
ONE_LINE_PEM_RE = re.compile(r"^(-----BEGIN [A-Z ]+-----)\s*([A-Za-z0-9+/=\s]+?)\s*"
                             r"(-----END [A-Z ]+-----)$")


def unfolded(pem: str) -> str:
    """The PEM with its line breaks back when it was pasted as one line."""
    pem = pem.strip()
    match = ONE_LINE_PEM_RE.match(pem)
    if "\n" in pem or not match:
        return pem
    body = "".join(match.group(2).split())
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([match.group(1), *lines, match.group(3)]) + "\n"


def signing_key(pem: str) -> tuple[RSAKey | ECKey, str]:
    """The joserfc key and its algorithm (RS256 or ES256), or AuthError (configuration)."""
    if not pem:
        raise AuthError("The Private key is missing. Enter it in the Authentication Settings.",
                        kind=ErrorKind.CONFIGURATION)
    try:
        key = serialization.load_pem_private_key(unfolded(pem).encode(), password=None)
    except (ValueError, TypeError, UnicodeError):
        raise AuthError(BAD_KEY, kind=ErrorKind.CONFIGURATION) from None
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        return RSAKey.import_key(key), "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return ECKey.import_key(key), "ES256"
    raise AuthError(BAD_KEY, kind=ErrorKind.CONFIGURATION)


def client_assertion(*, client_id: str, audience: str, pem: str, key_id: str = "") -> str:
    """A new signed client assertion for one request to `audience`."""
    key, algorithm = signing_key(pem)
    now = int(time.time())
    header = {"alg": algorithm, **({"kid": key_id} if key_id else {})}
    claims = {"iss": client_id, "sub": client_id, "aud": audience,
              "jti": secrets.token_urlsafe(24), "iat": now, "exp": now + LIFETIME}
    return jwt.encode(header, claims, key, algorithms=[algorithm])


def assertion_params(*, client_id: str, audience: str, pem: str, key_id: str = ""
                     ) -> dict[str, str]:
    """The body parameters authenticating the client with a new assertion."""
    return {"client_id": client_id, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(client_id=client_id, audience=audience,
                                                 pem=pem, key_id=key_id)}
