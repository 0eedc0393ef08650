"""Installs (a connector installed into an account), their sign-in attempts and the
revocations retried after an outage.

An install's life is on its model: the `mark_*` methods are the only code that assigns
`status`. Each sets the error (shortened in one place), the timestamps and the back-off,
saves, and writes its audit event -- the outbox row webhooks fan out from -- in the same
transaction. Call them on a row this transaction has locked (`for_update`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account, Partner
from audit import events as audit
from connectors.auth.base import ErrorKind, TransientError
from core.backoff import backoff_seconds
from core.fields import EncryptedJSONField, is_unreadable
from installs.attempts import AuthAttempt as AuthAttempt
from installs.outcomes import RefreshOutcome as RefreshOutcome
from installs.outcomes import RetryOutcome as RetryOutcome
from installs.outcomes import Revocation as Revocation
from installs.outcomes import SignInOutcome as SignInOutcome

log = logging.getLogger("hatchway.refresh")
security_log = logging.getLogger("hatchway.security")

#: The encrypted columns of an install reached through a foreign key (`defer` them).
INSTALL_SECRETS = ("install__secret_values", "install__credentials")
#: `last_error` holds at most this many characters (a provider's message may be long).
MAX_ERROR_LENGTH = 500


def shorten(message: str) -> str:
    return message[:MAX_ERROR_LENGTH]


class InstallQuerySet(models.QuerySet["Install"]):
    def without_secrets(self) -> InstallQuerySet:
        """For list pages: never load (or decrypt) the encrypted columns."""
        return self.defer("secret_values", "credentials")

    def for_partner(self, partner: Partner) -> InstallQuerySet:
        return self.filter(account__partner=partner)

    def with_saved_settings(self) -> InstallQuerySet:
        """With the partner's Authentication Settings for each install's connector joined
        in as `saved_settings` (absent when never saved), which `installs.values.Setup`
        then uses instead of reading them: the API's credentials reads and proxied calls
        need both on every request, in one query."""
        return self.annotate(saved_settings=models.FilteredRelation(
            "connector__partner_settings",
            condition=Q(connector__partner_settings__partner=models.F("account__partner")),
        )).select_related("saved_settings")  # type: ignore[misc]  # the stubs know no annotated relation

    def for_update(self, *, skip_locked: bool = False, partner: bool = True) -> InstallQuerySet:
        """Row-locked (`SELECT … FOR UPDATE`) until the transaction ends, with the account,
        partner and connector that audit events name.

        `of=("self",)`: only the install rows are locked, not the account, partner or
        connector rows every other install shares. The partner's logo (up to a megabyte of
        image) stays in the database: nothing that locks an install shows it.
        `partner=False` leaves the partner row out too, for the refresh workers' claims:
        what they write names the partner by `account.partner_id`, so its columns would
        be read and built into an instance at every claim for nothing.
        """
        related = ("account__partner", "connector") if partner else ("account", "connector")
        queryset = self.select_related(*related)
        if partner:
            queryset = queryset.defer("account__partner__logo")
        return queryset.select_for_update(skip_locked=skip_locked, of=("self",))


class Install(models.Model):
    """A connector installed into an account, with its account-level values and credentials.

    - `values`: non-secret values entered at install (e.g. ``subdomain``), and captured
      ones (Salesforce's ``instance_url``);
    - `secret_values` (encrypted): secret values entered at install (e.g. a client secret
      the partner left blank);
    - `credentials` (encrypted): what authentication produced (see connectors/auth/);
    - `token_info`: non-secret facts from authentication (granted ``scope``, account
      names), shown on the install page without decrypting anything.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        AUTHENTICATED = "authenticated", "Authenticated"
        REFRESH_FAILING = "refresh_failing", "Refresh failing"
        REAUTH_REQUIRED = "reauth_required", "Reauthentication required"
        ERROR = "error", "Error"
        DEAUTHENTICATED = "deauthenticated", "Deauthenticated"

    #: Statuses whose tokens the workers keep fresh (the install still works).
    REFRESHABLE = (Status.AUTHENTICATED, Status.REFRESH_FAILING)

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="installs")
    connector = models.ForeignKey("connectors.Connector", on_delete=models.PROTECT,
                                  related_name="installs")
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    values = models.JSONField(default=dict, blank=True,
                              help_text="Non-secret account-level values (e.g. subdomain).")
    secret_values = EncryptedJSONField(help_text="Secret values entered at install.")
    credentials = EncryptedJSONField(help_text="Tokens or keys produced by authentication.")
    token_info = models.JSONField(default=dict, blank=True,
                                  help_text="Non-secret facts from authentication (scopes).")
    requested_scopes = models.JSONField(
        null=True, blank=True,
        help_text="The install's own scopes, requested by each of its sign-ins; null: the "
                  "partner's Authentication Settings' (else the catalogue's defaults).")
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                      help_text="When the access token expires.")
    last_error = models.CharField(max_length=MAX_ERROR_LENGTH, blank=True)
    refresh_failures = models.PositiveIntegerField(default=0)
    next_refresh_at = models.DateTimeField(null=True, blank=True)
    authenticated_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InstallQuerySet.as_manager()

    class Meta:
        db_table = "accounts_install"
        ordering = ["-created_at"]
        indexes = [
            # The refresh workers' queue, in claim order (`refresh._claimable`): PostgreSQL
            # walks it and stops at the first due row nobody holds, instead of joining and
            # sorting every due install at each claim. (The statuses are REFRESHABLE's.)
            models.Index(fields=["expires_at", "id"], name="install_refresh_queue",
                         condition=Q(status__in=["authenticated", "refresh_failing"])),
            # "Needs attention" (`attention.AttentionRows`): the installs of one status
            # (reauthentication required, refresh failing) in expiry order, a page's worth.
            models.Index(fields=["status", "expires_at", "id"], name="install_attention"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or str(self.connector)

    @property
    def granted_scopes(self) -> list[str] | None:
        """The scopes the provider granted, from the token response's `scope` (RFC 6749
        §5.1), or None when it did not say (then it granted what was requested)."""
        granted = self.token_info.get("scope") if isinstance(self.token_info, dict) else None
        if not isinstance(granted, str) or not granted.strip():
            return None
        separator = self.connector.spec.auth.scope_separator.strip()
        return (granted.replace(separator, " ") if separator else granted).split()

    @property
    def scopes_differ(self) -> bool:
        """The provider granted other scopes than the install requested (fewer, usually):
        not an error, but shown on the install page."""
        granted = self.granted_scopes
        return (granted is not None and self.requested_scopes is not None
                and set(granted) != set(self.requested_scopes))

    @property
    def credentials_unreadable(self) -> bool:
        """True when stored secrets exist but no configured key decrypts them."""
        return is_unreadable(self.credentials) or is_unreadable(self.secret_values)

    @property
    def is_working(self) -> bool:
        """Its credentials work (or are being refreshed): a failed reauthentication keeps it."""
        return self.status in self.REFRESHABLE

    def is_expiring(self, *, now: datetime | None = None, margin: int | None = None) -> bool:
        """The access token expires within the refresh margin."""
        if self.expires_at is None:
            return False
        now = now or timezone.now()
        margin = settings.TOKEN_REFRESH_MARGIN if margin is None else margin
        return self.expires_at <= now + timedelta(seconds=margin)

    def is_due(self, now: datetime | None = None) -> bool:
        """A worker should refresh it now (the same test as `due_filter`, on a loaded row)."""
        now = now or timezone.now()
        return (self.is_working and self.is_expiring(now=now)
                and (self.next_refresh_at is None or self.next_refresh_at <= now))

    # --- transitions (on a locked row; each saves and writes its audit event) ------------

    def _record(self, action: str, *, actor: Any = None, actor_label: str = "",
                **detail: Any) -> None:
        audit.record(action, partner=self.account.partner_id, actor=actor,
                     actor_label=actor_label, install=self, **detail)

    def _clear_backoff(self) -> None:
        self.last_error = ""
        self.refresh_failures = 0
        self.next_refresh_at = None

    def mark_authenticated(self, *, credentials: dict[str, Any], expires_at: datetime | None,
                           token_info: dict[str, Any], actor: Any = None,
                           actor_label: str = "", **detail: Any) -> None:
        """A completed sign-in (or reauthentication): new credentials, a clean slate."""
        previous = self.status
        self.credentials = credentials
        self.expires_at = expires_at
        self.token_info = token_info
        self.status = self.Status.AUTHENTICATED
        self._clear_backoff()
        self.authenticated_at = timezone.now()
        with transaction.atomic(savepoint=False):
            self.save()
            self._record(audit.Action.INSTALL_AUTHENTICATED, actor=actor,
                         actor_label=actor_label, previous_status=previous, **detail)

    def store_credentials(self, *, credentials: dict[str, Any], expires_at: datetime | None,
                          token_info: dict[str, Any]) -> None:
        """Credentials saved with no status change and no audit event: a sign-in's tokens
        the moment the provider hands them over -- before its verify request, so a crash or
        a slow check cannot lose a token the provider has already rotated -- or the earlier
        ones put back when that request fails. `mark_authenticated` / `mark_auth_failed`
        follow with the status and the event."""
        self.credentials = credentials
        self.expires_at = expires_at
        self.token_info = token_info
        self.save(update_fields=["credentials", "expires_at", "token_info", "updated_at"])

    def mark_refreshed(self, *, credentials: dict[str, Any], expires_at: datetime | None,
                       now: datetime) -> None:
        """New tokens from a refresh; recovers a failing install."""
        previous = self.status
        self.credentials = credentials
        self.expires_at = expires_at
        self.status = self.Status.AUTHENTICATED
        self._clear_backoff()
        self.last_refreshed_at = now
        with transaction.atomic(savepoint=False):
            self.save(update_fields=["credentials", "expires_at", "status", "refresh_failures",
                                     "next_refresh_at", "last_refreshed_at", "last_error",
                                     "updated_at"])
            self._record(audit.Action.INSTALL_REFRESHED, actor_label=REFRESH_ACTOR,
                         status=self.status, previous_status=previous)

    def mark_refresh_failing(self, *, error: str, kind: str, retry_at: datetime) -> None:
        """A transient failure: tokens kept, retried at `retry_at` (the back-off)."""
        previous = self.status
        self.refresh_failures += 1
        self.status = self.Status.REFRESH_FAILING
        self.next_refresh_at = retry_at
        self.last_error = shorten(error)
        with transaction.atomic(savepoint=False):
            self.save(update_fields=["status", "refresh_failures", "next_refresh_at",
                                     "last_error", "updated_at"])
            self._record(audit.Action.INSTALL_REFRESH_FAILED, actor_label=REFRESH_ACTOR,
                         kind=kind, status=self.status, previous_status=previous,
                         failures=self.refresh_failures, next_attempt=retry_at.isoformat())

    def mark_reauth_required(self, *, error: str, kind: str) -> None:
        """A permanent refresh failure: tokens kept for the record, a person must sign in."""
        previous = self.status
        self.status = self.Status.REAUTH_REQUIRED
        self.next_refresh_at = None
        self.last_error = shorten(error)
        with transaction.atomic(savepoint=False):
            self.save(update_fields=["status", "next_refresh_at", "last_error", "updated_at"])
            self._record(audit.Action.INSTALL_REFRESH_FAILED, actor_label=REFRESH_ACTOR,
                         kind=kind, status=self.status, previous_status=previous)

    def mark_auth_failed(self, *, error: str, kind: str, stage: str, actor: Any = None,
                         actor_label: str = "") -> None:
        """A failed sign-in: "Error", unless the install still works (a failed
        reauthentication does not break working credentials). Its values are saved too
        (a sign-in drops rejected keys from them)."""
        if not self.is_working:
            self.status = self.Status.ERROR
        self.last_error = shorten(error)
        with transaction.atomic(savepoint=False):
            self.save(update_fields=["status", "last_error", "values", "secret_values",
                                     "updated_at"])
            self._record(audit.Action.INSTALL_AUTH_FAILED, actor=actor, actor_label=actor_label,
                         kind=kind, stage=stage)

    def mark_verified(self, *, actor: Any = None, actor_label: str = "") -> None:
        """A passing connection check; it clears an earlier error."""
        previous = self.status
        with transaction.atomic(savepoint=False):
            if self.status == self.Status.ERROR:
                self.status, self.last_error = self.Status.AUTHENTICATED, ""
                self.save(update_fields=["status", "last_error", "updated_at"])
            self._record(audit.Action.INSTALL_VERIFIED, actor=actor, actor_label=actor_label,
                         status=self.status, previous_status=previous)

    def mark_verify_failed(self, *, error: str, kind: str, actor: Any = None,
                           actor_label: str = "") -> None:
        """The provider rejected the stored credentials in a connection check."""
        self.status, self.last_error = self.Status.ERROR, shorten(error)
        with transaction.atomic(savepoint=False):
            self.save(update_fields=["status", "last_error", "updated_at"])
            self._record(audit.Action.INSTALL_VERIFY_FAILED, actor=actor,
                         actor_label=actor_label, kind=kind)

    def mark_deauthenticated(self, *, revocation: str, actor: Any = None,
                             actor_label: str = "") -> None:
        """Local credentials deleted (whatever the provider said); the install is kept."""
        self.credentials = {}
        self.expires_at = None
        self.token_info = {}
        self.status = self.Status.DEAUTHENTICATED
        self._clear_backoff()
        with transaction.atomic(savepoint=False):
            self.save()
            self._record(audit.Action.INSTALL_DEAUTHENTICATED, actor=actor,
                         actor_label=actor_label, revocation=revocation)

    def mark_unreadable(self, *, error: str, actor_label: str, **detail: Any) -> None:
        """Stored secrets no key decrypts: someone must enter the credentials again."""
        previous = self.status
        self.status = self.Status.REAUTH_REQUIRED
        self.next_refresh_at = None
        self.last_error = shorten(error)
        with transaction.atomic(savepoint=False):
            # Only these columns: the unreadable ciphertext stays exactly as it is.
            self.save(update_fields=["status", "next_refresh_at", "last_error", "updated_at"])
            self._record(audit.Action.INSTALL_CREDENTIALS_UNREADABLE, actor_label=actor_label,
                         status=self.status, previous_status=previous, **detail)


#: The actor label of what the refresh workers (and on-demand refreshes) do.
REFRESH_ACTOR = "token refresh"


def due_filter(now: datetime | None = None) -> Q:
    """Installs whose token a worker should refresh now (`Install.is_due` on a loaded row)."""
    now = now or timezone.now()
    soon = now + timedelta(seconds=settings.TOKEN_REFRESH_MARGIN)
    return (
        Q(status__in=Install.REFRESHABLE, expires_at__lte=soon)
        & (Q(next_refresh_at__isnull=True) | Q(next_refresh_at__lte=now))
    )


class PendingRevocation(models.Model):
    """A token the provider could not revoke at deauthentication (5xx, 429, timeout).

    The install's own credentials are already deleted; this row keeps, encrypted, only
    the token `revoke` needs and the merged values to build the method (client id and
    secret, templated URL values), until a worker revokes it, the provider refuses it
    for good, or the attempts run out. See installs/revocation.py.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE,
                                related_name="pending_revocations")
    connector = models.ForeignKey("connectors.Connector", on_delete=models.PROTECT,
                                  related_name="+")
    install = models.ForeignKey(Install, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="pending_revocations",
                                help_text="Empty once the install was deleted.")
    credentials = EncryptedJSONField(help_text="The token to revoke (and nothing else).")
    values = EncryptedJSONField(help_text="Merged values that configure the auth method.")
    attempts = models.PositiveIntegerField(default=1,
                                           help_text="Revocation requests made so far.")
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.CharField(max_length=MAX_ERROR_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    #: Revocation requests (the first one at deauthentication included) before giving up.
    #: With the refresh back-off (at most an hour apart) that rides out about half a day
    #: of outage.
    MAX_ATTEMPTS = 24
    #: The actor label of the retries' audit events.
    ACTOR = "revocation retry"

    class Meta:
        db_table = "accounts_pendingrevocation"
        ordering = ["next_attempt_at", "pk"]

    def __str__(self) -> str:
        return f"Pending revocation {self.pk} ({self.connector})"

    # --- transitions (each saves, or deletes, and writes its audit event) ---------------

    @classmethod
    def schedule(cls, *, install: Install, credentials: dict[str, Any], values: dict[str, str],
                 error: TransientError, actor: Any, now: datetime | None = None,
                 ) -> PendingRevocation | None:
        """Keep a token the provider could not revoke just now, to retry after a back-off.

        Call inside the transaction that deletes the install's credentials, so the token
        is either still on the install or here. `credentials` is what `revoke` needs (see
        `AuthMethod.revocation_credentials`); nothing is kept when that is empty.
        """
        if not credentials:
            return None
        now = now or timezone.now()
        delay = backoff_seconds(1, retry_after=error.retry_after)
        with transaction.atomic(savepoint=False):
            row = cls.objects.create(
                partner=install.account.partner, connector=install.connector, install=install,
                credentials=credentials, values=values, attempts=1,
                next_attempt_at=now + timedelta(seconds=delay), last_error=shorten(error.message))
            audit.record(audit.Action.INSTALL_REVOCATION_PENDING, partner=row.partner,
                         actor=actor, install=install, kind=error.kind, pending_id=row.pk,
                         install_id=install.pk, next_attempt=row.next_attempt_at.isoformat())
        log.warning("install %s: revocation %s (%s), retry in %.0f s", install.pk, row.pk,
                    error.kind, delay)
        return row

    def postpone(self, *, now: datetime, message: str, kind: str,
                 retry_after: float | None = None) -> bool:
        """A transient failure of the attempt just counted: retry after a back-off, or give
        up after MAX_ATTEMPTS. False when it gave up."""
        self.last_error = shorten(message)
        if self.attempts >= self.MAX_ATTEMPTS:
            self.give_up(kind=ErrorKind.GAVE_UP, last_kind=kind)
            return False
        delay = backoff_seconds(self.attempts, retry_after=retry_after)
        self.next_attempt_at = now + timedelta(seconds=delay)
        self.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        log.warning("pending revocation %s: still failing (%s), attempt %s, retry in %.0f s",
                    self.pk, kind, self.attempts, delay)
        return True

    def mark_revoked(self) -> None:
        """The provider revoked the token at last: the row goes."""
        log.info("pending revocation %s: revoked at attempt %s", self.pk, self.attempts)
        self._end(audit.Action.INSTALL_REVOKED_LATER)

    def give_up(self, *, kind: str, **detail: Any) -> None:
        """No more attempts: the token may still be valid at the provider. Say so, loudly."""
        security_log.warning("pending revocation %s (install %s, connector %s): not revoked "
                             "(%s) after %s attempts; the token may still be valid at the "
                             "provider", self.pk, self.install_id, self.connector.slug, kind,
                             self.attempts)
        self._end(audit.Action.INSTALL_REVOCATION_FAILED, kind=kind, **detail)

    def _end(self, action: str, **detail: Any) -> None:
        """Delete the row with an audit event naming it (the install may be gone)."""
        with transaction.atomic():
            audit.record(action, partner=self.partner, actor_label=self.ACTOR,
                         install=self.install, connector=self.connector, pending_id=self.pk,
                         install_id=self.install_id, attempts=self.attempts, **detail)
            self.delete()
