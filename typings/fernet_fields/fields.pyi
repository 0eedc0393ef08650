from typing import Any

from cryptography.fernet import Fernet, MultiFernet
from django.db import models
from typing_extensions import TypeVar

_ST = TypeVar("_ST", contravariant=True, default=Any)
_GT = TypeVar("_GT", covariant=True, default=Any)

class EncryptedField(models.Field[_ST, _GT]):
    @property
    def keys(self) -> list[str]: ...
    @property
    def fernet_keys(self) -> list[bytes]: ...
    @property
    def fernet(self) -> Fernet | MultiFernet: ...

# At run time also a models.TextField; declared here only as the encrypted field it acts as.
class EncryptedTextField(EncryptedField[_ST, _GT]): ...
