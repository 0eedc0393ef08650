"""The audit log: who did what to which object, when. Never a secret value.

Rows of the apps above this one (installs, connectors) are referenced by string, so the
audit log imports nothing above it. Every status change of an install writes its event
in the same transaction, which makes this table the outbox that webhooks fan out from:
`relayed_at` is empty until a relay has taken the event (this app never reads it).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Account, Partner


class Action(models.TextChoices):
    """Every action the console, the API, the customer pages and the workers record.

    The labels are what people read in the audit lists; none equals a status badge's
    text ("Authenticated"), so pages never read ambiguously.
    """

    API_KEY_CREATED = "api_key.created", "API key created"
    API_KEY_REVOKED = "api_key.revoked", "API key revoked"
    ACCOUNT_CREATED = "account.created", "Account created"
    ACCOUNT_UPDATED = "account.updated", "Account changed"
    ACCOUNT_DELETED = "account.deleted", "Account deleted"
    PARTNER_CREATED = "partner.created", "Partner added in the admin"
    PARTNER_UPDATED = "partner.updated", "Partner changed in the admin"
    BRANDING_SAVED = "branding.saved", "Branding saved"
    SETTINGS_SAVED = "settings.saved", "Authentication Settings saved"
    SETTINGS_CLEARED = "settings.cleared", "Authentication Settings cleared"
    CONNECTOR_CREATED = "connector.created", "Custom connector created"
    CONNECTOR_UPDATED = "connector.updated", "Custom connector changed"
    CONNECTOR_RETIRED = "connector.retired", "Custom connector retired"
    CONNECTOR_DELETED = "connector.deleted", "Custom connector deleted"
    INSTALL_CREATED = "install.created", "Installed"
    INSTALL_UPDATED = "install.updated", "Install details changed"
    INSTALL_AUTH_STARTED = "install.auth_started", "Authentication started"
    INSTALL_AUTHENTICATED = "install.authenticated", "Install authenticated"
    INSTALL_AUTH_FAILED = "install.auth_failed", "Authentication failed"
    INSTALL_CANCELLED = "install.cancelled", "Authentication cancelled"
    INSTALL_IMPORTED = "install.imported", "Install imported"
    INSTALL_VERIFIED = "install.verified", "Connection verified"
    INSTALL_VERIFY_FAILED = "install.verify_failed", "Connection check failed"
    INSTALL_DEAUTHENTICATED = "install.deauthenticated", "Install deauthenticated"
    INSTALL_DELETED = "install.deleted", "Install deleted"
    INSTALL_REFRESHED = "install.refreshed", "Token refreshed"
    INSTALL_REFRESH_FAILED = "install.refresh_failed", "Token refresh failed"
    INSTALL_REVOCATION_PENDING = "install.revocation_pending", "Token revocation pending"
    INSTALL_REVOKED_LATER = "install.revoked_later", "Token revoked (retried)"
    INSTALL_REVOCATION_FAILED = "install.revocation_failed", "Token revocation failed"
    INSTALL_CREDENTIALS_READ = "install.credentials_read", "Credentials read through the API"
    INSTALL_CREDENTIALS_UNREADABLE = ("install.credentials_unreadable",
                                      "Stored credentials unreadable")
    LINK_CREATED = "link.created", "Install link created"
    LINK_OPENED = "link.opened", "Install link opened"
    LINK_USED = "link.used", "Install link used"
    LINK_REVOKED = "link.revoked", "Install link revoked"
    KEYS_ROTATED = "keys.rotated", "Encryption keys rotated"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created", "Webhook endpoint added"
    WEBHOOK_ENDPOINT_UPDATED = "webhook_endpoint.updated", "Webhook endpoint changed"
    WEBHOOK_SECRET_ROTATED = "webhook_endpoint.secret_rotated", "Webhook signing secret rotated"
    WEBHOOK_ENDPOINT_DELETED = "webhook_endpoint.deleted", "Webhook endpoint deleted"
    WEBHOOK_ENDPOINT_DISABLED = ("webhook_endpoint.disabled",
                                 "Webhook endpoint disabled after failing")
    MEMBER_INVITED = "member.invited", "Member invited"
    INVITATION_RESENT = "member.invitation_resent", "Invitation resent"
    INVITATION_REVOKED = "member.invitation_revoked", "Invitation revoked"
    INVITATION_ACCEPTED = "member.invitation_accepted", "Invitation accepted"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member's role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    PASSWORD_RESET = "member.password_reset", "Password reset by email"
    TWO_FACTOR_ENABLED = "member.two_factor_enabled", "Two-factor authentication turned on"
    TWO_FACTOR_DISABLED = "member.two_factor_disabled", "Two-factor authentication turned off"
    PASSKEY_ADDED = "member.passkey_added", "Passkey added"
    RECOVERY_CODES_REGENERATED = "member.recovery_codes_regenerated", "New recovery codes made"
    TWO_FACTOR_REQUIREMENT_CHANGED = ("partner.two_factor_requirement_changed",
                                      "Two-factor requirement changed")
    LOGIN_FAILED = "login.failed", "Login failed"
    LOGIN_LOCKED_OUT = "login.locked_out", "Login locked after repeated failures"
    SSO_SETTINGS_CHANGED = "partner.sso_settings_changed", "Single sign-on settings changed"
    SSO_LOGIN = "login.sso", "Signed in with SSO"
    SSO_LOGIN_REFUSED = "login.sso_refused", "Sign-in with SSO refused"
    SSO_MEMBER_JOINED = "member.joined_by_sso", "Member joined by SSO (just-in-time)"
    SSO_PASSWORD_REFUSED = "login.password_refused_sso", "Password sign-in refused: SSO required"
    PASSKEY_LOGIN = "login.passkey", "Signed in with a passkey"
    PASSKEY_SSO_REFUSED = "login.passkey_refused_sso", "Passkey sign-in refused: SSO required"
    RECOVERY_LINK_ISSUED = "login.recovery_link_issued", "One-time recovery sign-in link issued"
    RECOVERY_LINK_USED = "login.recovery_link_used", "Signed in with a recovery link"


ACTION_LABELS = dict(Action.choices)


def action_label(action: str) -> str:
    """The readable name of an action; an unknown one is shown as it is."""
    return ACTION_LABELS.get(action, action)


class AuditEvent(models.Model):
    """Who did what to which object, when. Never holds a secret value."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="+")
    actor_label = models.CharField(max_length=200, blank=True,
                                   help_text="Who acted when not a user: system, install link.")
    action = models.CharField(max_length=60, db_index=True)
    account = models.ForeignKey(Account, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="audit_events")
    install = models.ForeignKey("installs.Install", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="audit_events")
    connector = models.ForeignKey("connectors.Connector", on_delete=models.SET_NULL, null=True,
                                  blank=True, related_name="+")
    detail = models.JSONField(default=dict, blank=True,
                              help_text="Field names, statuses, error kinds: never values.")
    subject = models.JSONField(
        default=dict, blank=True,
        help_text="The account, install and connector as they were when the event was "
                  "written (ids, names, status): what a webhook reports, whatever happens "
                  "to the rows later. Never a secret.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    relayed_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When a relay above this app (webhooks) took the event; empty until then.")

    class Meta:
        db_table = "accounts_auditevent"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The relay's queue: only the few events not taken yet are in it.
            models.Index(fields=["id"], condition=models.Q(relayed_at__isnull=True),
                         name="auditevent_unrelayed"),
            # An account's and an install's recent events (their console pages): newest
            # first from the index, not every event by date filtered down to theirs.
            models.Index(fields=["account", "-created_at", "-id"],
                         name="auditevent_account_recent"),
            models.Index(fields=["install", "-created_at", "-id"],
                         name="auditevent_install_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor or self.actor_label or 'system'}"
