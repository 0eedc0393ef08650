# Local stubs: django-fernet-fields-v2 ships no type information. Only what Hatchway uses.
from . import hkdf as hkdf
from .fields import EncryptedField as EncryptedField
from .fields import EncryptedTextField as EncryptedTextField
