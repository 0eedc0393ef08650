"""Encryption at rest for secrets, on top of `fernet_fields` (django-fernet-fields-v2).

`EncryptedJSONField` stores a dict of secret values as one Fernet token. Two things
differ from the library's fields:

- Keys are read from ``settings.FERNET_KEYS`` on every use (cached per key list), so a
  rotation or a settings override takes effect without a restart of the field.
- A value that no configured key decrypts (unknown key, tampered ciphertext) does not
  raise: it loads as an :class:`Unreadable` holding the raw ciphertext, which is written
  back unchanged if the row is saved. Nothing is silently emptied and nothing 500s; the
  caller decides (an install with unreadable credentials needs them entered again).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models.expressions import Combinable
from fernet_fields import EncryptedTextField, hkdf


@lru_cache(maxsize=16)
def _fernet(key: str) -> Fernet:
    return Fernet(hkdf.derive_fernet_key(key))


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet(key) for key in keys])


def current_fernet() -> MultiFernet:
    """The MultiFernet for the configured keys: the first encrypts, all decrypt."""
    return _fernet_for(tuple(settings.FERNET_KEYS))


def first_fernet() -> Fernet:
    """The key new values are encrypted with (the first of FERNET_KEYS) on its own."""
    return _fernet(settings.FERNET_KEYS[0])


class Unreadable(dict[str, Any]):
    """A stored secret that no configured key decrypts. Empty to read, kept on save."""

    def __init__(self, ciphertext: bytes) -> None:
        super().__init__()
        self.ciphertext = ciphertext

    def __bool__(self) -> bool:  # an unreadable value is not a usable credential
        return False

    def __repr__(self) -> str:
        return "<Unreadable secret>"


def is_unreadable(value: Any) -> bool:
    return isinstance(value, Unreadable)


class EncryptedJSONField(EncryptedTextField[dict[str, Any] | Combinable, dict[str, Any]]):
    """A dict of secrets, JSON-encoded then Fernet-encrypted into one binary column."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    @property
    def fernet(self) -> MultiFernet:
        return current_fernet()

    def get_db_prep_save(self, value: Any, connection: Any) -> Any:
        if isinstance(value, Unreadable):
            return connection.Database.Binary(value.ciphertext)
        if value is None:
            return None
        if hasattr(value, "as_sql"):  # an expression in update(): compiled as it is
            return value
        plaintext = json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)
        return connection.Database.Binary(self.fernet.encrypt(plaintext.encode()))

    def from_db_value(self, value: Any, expression: Any, connection: Any, *args: Any) -> Any:
        if value is None:
            return {}
        ciphertext = bytes(value)
        try:
            plaintext = self.fernet.decrypt(ciphertext)
        except InvalidToken:
            return Unreadable(ciphertext)
        return json.loads(plaintext)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            return json.loads(value) if value else {}
        return value

    def value_to_string(self, obj: Any) -> str:
        # Serialisation (dumpdata, fixtures) never carries the plaintext.
        return "[encrypted]"


def rotate_ciphertext(ciphertext: bytes) -> bytes:
    """Re-encrypt one stored value under the first key (raises InvalidToken)."""
    return current_fernet().rotate(ciphertext)
