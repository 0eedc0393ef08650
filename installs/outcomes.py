"""What the installs' operations come to: a refresh, a revocation, a revocation retry, a
browser sign-in (re-exported by installs/models.py, where callers import them from)."""

from __future__ import annotations

from django.db import models


class RefreshOutcome(models.TextChoices):
    """What one refresh of one install came to."""

    REFRESHED = "refreshed", "Refreshed"
    NOT_DUE = "not_due", "Not due"
    SKIPPED_LOCKED = "skipped_locked", "Skipped (another worker holds it)"
    REAUTH_REQUIRED = "reauth_required", "Reauthentication required"
    FAILING = "failing", "Failing, retried later"


class Revocation(models.TextChoices):
    """What became of the token at deauthentication or deletion (RFC 7009)."""

    REVOKED = "revoked", "revoked by the provider"
    NOT_SUPPORTED = "not_supported", "not offered by the provider"
    UNAVAILABLE = "unavailable", "provider unreachable, will be retried"
    FAILED = "failed", "refused by the provider"
    NOTHING_TO_REVOKE = "nothing_to_revoke", "nothing stored"


class RetryOutcome(models.TextChoices):
    """What one retry of a pending revocation came to."""

    REVOKED = "revoked", "Revoked"
    REFUSED = "refused", "Refused by the provider"
    POSTPONED = "postponed", "Postponed"
    GAVE_UP = "gave_up", "Gave up"


class SignInOutcome(models.TextChoices):
    """How a browser sign-in ended, as the callback (and an install link's result) shows it."""

    CONNECTED = "connected", "Connected"
    CANCELLED = "cancelled", "Cancelled"
    ERROR = "error", "Error"
