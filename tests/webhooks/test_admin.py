"""The support admin shows webhook endpoints, events and deliveries, never a secret."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent


@pytest.fixture
def support_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(email="root@hatchway.test",
                                                     password=PASSWORD))
    return client


def test_every_model_is_registered():
    """Every webhooks model has an admin."""
    for model in apps.get_app_config("webhooks").get_models():
        assert admin.site.is_registered(model), model.__name__


def test_pages_show_no_secret_and_change_nothing(support_client, partner):
    """List, change and search pages: the secret's name only; no add or change."""
    endpoint, secret = services.create_endpoint(partner=partner, url="https://hooks.acme.test/")
    services.rotate_secret(endpoint=endpoint, actor=None)
    services.send_test(endpoint=endpoint)
    endpoint.refresh_from_db()
    secrets = [secret, endpoint.secrets["current"]]
    rows = [endpoint, WebhookEvent.objects.get(), WebhookDelivery.objects.get()]
    for row in rows:
        meta = row._meta
        base = f"admin:{meta.app_label}_{meta.model_name}"
        for url in (reverse(f"{base}_changelist"), reverse(f"{base}_change", args=[row.pk]),
                    reverse(f"{base}_changelist") + "?q=whsec_"):
            html = support_client.get(url).content.decode()
            assert not any(s in html for s in secrets), url
        assert support_client.get(reverse(f"{base}_add")).status_code == 403
    change = support_client.get(reverse("admin:webhooks_webhookendpoint_change",
                                        args=[endpoint.pk])).content.decode()
    assert "current: set, previous: set" in change
    assert WebhookEndpoint.objects.get().secrets["current"] == secrets[1]
