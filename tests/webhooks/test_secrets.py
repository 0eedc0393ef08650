"""Signing secrets over time: a second rotation keeps only the newest two, and endpoints
keep signing after the encryption key is rotated (`rotate_keys`) and the old key removed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.webhooks.conftest import deliver_all, relay_all
from webhooks import services
from webhooks.models import WebhookEndpoint

OLD_KEY = "fake-old-fernet-key-1"
NEW_KEY = "fake-new-fernet-key-2"


def event_for(account) -> None:
    services.send_test(endpoint=WebhookEndpoint.objects.get())
    relay_all()


def test_a_second_rotation_drops_the_oldest_secret(endpoint, receiver, account):
    """Rotate twice: deliveries are signed by the newest two secrets, never the first."""
    second = services.rotate_secret(endpoint=endpoint.row, actor=None)
    third = services.rotate_secret(endpoint=endpoint.row, actor=None)
    event_for(account)
    deliver_all()
    received = receiver.requests[-1]
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    for secret in (second, third):
        Webhook(secret).verify(received.body, received.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(received.body, received.headers)


def test_signing_after_rotate_keys_and_the_old_key_removed(settings, partner, receiver,
                                                           account):
    """An endpoint made under the old encryption key still signs with its secret after
    rotate_keys re-encrypted it and the old key is gone."""
    settings.FERNET_KEYS = [OLD_KEY]
    _, secret = services.create_endpoint(partner=partner, url=receiver.url)
    settings.FERNET_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_keys", stdout=StringIO(), stderr=StringIO())
    settings.FERNET_KEYS = [NEW_KEY]
    row = WebhookEndpoint.objects.get()
    assert not row.secret_unreadable
    event_for(account)
    assert deliver_all() == {"delivered": 1}
    received = receiver.requests[-1]
    Webhook(secret).verify(received.body, received.headers)
