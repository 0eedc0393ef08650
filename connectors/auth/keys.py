"""Keys that sign JWTs (`jwt_bearer`, issue 21 §2; `token_auth = "private_key_jwt"`, §6;
`jwt`, §3): read, checked, used to sign -- one loader, one set of messages. (The `jwt`
mode's HS256 shared secrets are entered hex-encoded: `load_hmac_secret`.)

A key is entered as PEM (PKCS #8 `PRIVATE KEY`, or the older `RSA PRIVATE KEY` /
`EC PRIVATE KEY`). People paste keys in every shape -- from a JSON file with escaped
newlines, from a one-line input that dropped them -- so the PEM is rebuilt from its
base64 body before `cryptography` reads it. A key is accepted only when it is readable,
unencrypted and fits the connector's algorithm: RS256 wants an RSA key of at least 2048
bits, ES256 an EC key on P-256. `KeyProblem` messages name what is wrong, never the key.

Signing uses joserfc (JWS compact serialisation, RFC 7515/7519).
"""

from __future__ import annotations

import re
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

PEM_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,40})-----(.*?)-----END \1-----", re.S)
PRIVATE_LABELS = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY")
BASE64_RE = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
#: Longer than any RSA-4096 PEM; keeps hostile input a field error.
MAX_KEY_LENGTH = 8000
MIN_RSA_BITS = 2048
ALGORITHMS = ("RS256", "ES256")
#: An HS256 secret (the `jwt` mode's, Ghost's Admin API key) is entered hex-encoded; at
#: least the hash's size (RFC 7518 §3.2), at most what a pasted key could sensibly be.
HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
MIN_HMAC_BYTES, MAX_HMAC_BYTES = 32, 512


class KeyProblem(ValueError):
    """Why a private key is refused; the message is safe to show (it never holds the key)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalized_pem(text: str) -> bytes:
    """The PEM block in `text`, re-wrapped; KeyProblem when there is none to read."""
    if len(text) > MAX_KEY_LENGTH:
        raise KeyProblem("This is too long to be a private key.")
    found = PEM_RE.search(text.replace("\\n", "\n"))
    if found is None:
        raise KeyProblem("Enter the private key in PEM format: from “-----BEGIN PRIVATE "
                         "KEY-----” to “-----END PRIVATE KEY-----”.")
    label, body = found.group(1), found.group(2)
    if "ENCRYPTED" in label or "Proc-Type:" in body:
        raise KeyProblem("This private key is protected by a passphrase; export it without "
                         "one.")
    if label not in PRIVATE_LABELS:
        raise KeyProblem(f"This is a {label.lower()}, not a private key.")
    data = "".join(body.split())
    if not BASE64_RE.match(data):
        raise KeyProblem("This private key could not be read: its PEM body is damaged.")
    lines = "\n".join(data[index:index + 64] for index in range(0, len(data), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n".encode()


def read_key(text: str) -> tuple[bytes, Any]:
    """The key's normalised PEM and the key itself; KeyProblem when it cannot be read."""
    pem = normalized_pem(text)
    try:
        return pem, serialization.load_pem_private_key(pem, password=None)
    except TypeError:  # cryptography: "Password was not given but private key is encrypted"
        raise KeyProblem("This private key is protected by a passphrase; export it without "
                         "one.") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyProblem("This private key could not be read: its PEM body is damaged.") from None


def load_private_key(text: str, algorithm: str) -> bytes:
    """The key's PEM (normalised) when it is readable and fits `algorithm`; else KeyProblem."""
    pem, key = read_key(text)
    check_fits(key, algorithm)
    return pem


def load_signing_key(text: str) -> tuple[bytes, str]:
    """`private_key_jwt`: the key's PEM and the algorithm its type signs with (RS256 for
    an RSA key, ES256 for an EC key on P-256); KeyProblem for any other key."""
    pem, key = read_key(text)
    algorithm = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"
    check_fits(key, algorithm)
    return pem, algorithm


def check_fits(key: Any, algorithm: str) -> None:
    """KeyProblem unless `key` can sign with `algorithm`."""
    if algorithm == "RS256":
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyProblem("This connector signs with RS256, which needs an RSA private key; "
                             f"this is {kind_of(key)}.")
        if key.key_size < MIN_RSA_BITS:
            raise KeyProblem(f"This RSA key has {key.key_size} bits; RS256 needs at least "
                             f"{MIN_RSA_BITS}.")
    elif algorithm == "ES256":
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(
                key.curve, ec.SECP256R1):
            raise KeyProblem("This connector signs with ES256, which needs an EC private key on "
                             f"the P-256 curve; this is {kind_of(key)}.")
    else:
        raise KeyProblem(f"The algorithm {algorithm} is not supported.")


def load_hmac_secret(text: str) -> bytes:
    """An HS256 secret entered hex-encoded, decoded; KeyProblem (never quoting it) when it
    is not hex or shorter than RFC 7518 §3.2 allows."""
    data = "".join(text.split())
    if not data or len(data) > 2 * MAX_HMAC_BYTES or not HEX_RE.match(data) or len(data) % 2:
        raise KeyProblem("Enter the secret in hexadecimal (the digits 0-9 and the letters "
                         "a-f), as the provider shows it.")
    secret = bytes.fromhex(data)
    if len(secret) < MIN_HMAC_BYTES:
        raise KeyProblem(f"This secret has {len(secret)} bytes; HS256 needs at least "
                         f"{MIN_HMAC_BYTES}.")
    return secret


def kind_of(key: Any) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "an RSA key"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an EC key on {key.curve.name}"
    return "another kind of key"


def sign(header: dict[str, Any], claims: dict[str, Any], pem: bytes, algorithm: str) -> str:
    """A compact JWS of `claims`, signed with the (already checked) key: a PEM, or for
    HS256 the decoded secret."""
    key: RSAKey | ECKey | OctKey
    if algorithm == "HS256":
        key = OctKey.import_key(pem)
    else:
        key = RSAKey.import_key(pem) if algorithm == "RS256" else ECKey.import_key(pem)
    return jwt.encode({**header, "alg": algorithm, "typ": "JWT"}, claims, key,
                      algorithms=[algorithm])
