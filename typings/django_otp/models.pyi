# What Hatchway uses of django-otp's device bases (teams.models.AuthenticatorApp); django-otp
# ships no type information.
from datetime import datetime
from typing import Any, ClassVar, Self

from django.db import models

class Device(models.Model):
    objects: ClassVar[models.Manager[Self]]
    user: models.ForeignKey[Any, Any]
    name: models.CharField[str, str]
    confirmed: models.BooleanField[bool, bool]
    class Meta:
        abstract: ClassVar[bool]
    def verify_token(self, token: Any) -> bool: ...

class ThrottlingMixin(models.Model):
    throttling_failure_timestamp: models.DateTimeField[datetime | None, datetime | None]
    throttling_failure_count: models.PositiveIntegerField[int, int]
    def verify_is_allowed(self) -> tuple[bool, dict[str, Any] | None]: ...
    def throttle_reset(self, commit: bool = ...) -> None: ...
    def throttle_increment(self, commit: bool = ...) -> None: ...
    def get_throttle_factor(self) -> int: ...

class TimestampMixin(models.Model):
    created_at: models.DateTimeField[datetime | None, datetime | None]
    last_used_at: models.DateTimeField[datetime | None, datetime | None]
    def set_last_used_timestamp(self, commit: bool = ...) -> None: ...
