"""Private keys entered as PEM text: read with `cryptography`, refused with a message that
names what is wrong and never quotes the key.

`rsa_private_key` is what Authentication Settings validate a key field with on save (see
`AuthMethod.key_fields`) and what a method signs with; a key refused here is never stored.
"""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

#: A 4096-bit RSA key in PEM is about 3.3 KB; room for 8192 bits and line endings.
MAX_PEM_LENGTH = 8000
MIN_RSA_BITS = 2048


class UnusableKey(ValueError):
    """A private key that cannot be used; the message is safe to show."""


def rsa_private_key(pem: str) -> RSAPrivateKey:
    """The RSA private key in `pem` (PKCS#1 or PKCS#8, unencrypted, at least 2048 bits)."""
    text = pem.strip()
    if len(text) > MAX_PEM_LENGTH:
        raise UnusableKey("The private key is longer than any RSA key this connector accepts.")
    if "-----BEGIN" not in text or "PRIVATE KEY-----" not in text:
        raise UnusableKey("The private key must be a PEM file: paste it whole, from "
                        "“-----BEGIN … PRIVATE KEY-----” to the matching END line.")
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except TypeError:  # a passphrase is needed
        raise UnusableKey("The private key is protected by a passphrase: paste the key without "
                        "one.") from None
    except (ValueError, UnsupportedAlgorithm):
        raise UnusableKey("The private key could not be read: it is not a valid PEM private "
                        "key.") from None
    if not isinstance(key, RSAPrivateKey):
        raise UnusableKey("The private key is not an RSA key: this connector signs RS256 "
                        "tokens, which need one.")
    if key.key_size < MIN_RSA_BITS:
        raise UnusableKey(f"The RSA key is {key.key_size} bits: at least {MIN_RSA_BITS} are "
                        "needed.")
    return key
