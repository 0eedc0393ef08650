"""The console's Webhooks page: endpoints, secrets shown once, rotation, test events, the
delivery log; admins change, viewers read, other partners get 404."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from tests.webhooks.conftest import Reply, deliver_all
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent


def secret_on(html: str) -> str:
    return re.search(r'value="(whsec_[^"]+)"', html).group(1)


def test_add_endpoint_shows_the_secret_once(admin_client, partner):
    """Adding an endpoint renders its secret on that page only; stored encrypted; audited
    without URL or secret."""
    response = admin_client.post("/webhooks/new/", {
        "url": "https://hooks.acme.test/hatchway", "description": "Product backend",
        "event_types": ["install.authenticated", "install.deleted"]})
    html = response.content.decode()
    assert response.status_code == 200 and "shown only this once" in html
    secret = secret_on(html)
    endpoint = WebhookEndpoint.objects.get(partner=partner)
    assert endpoint.secrets == {"current": secret}
    assert endpoint.event_types == ["install.authenticated", "install.deleted"]
    detail = admin_client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert secret not in detail and "Product backend" in detail
    assert secret not in admin_client.get("/webhooks/").content.decode()
    event = AuditEvent.objects.get(action="webhook_endpoint.created")
    assert event.actor.email == "alice@acme.test"
    assert event.detail == {"endpoint": endpoint.pk,
                            "event_types": ["install.authenticated", "install.deleted"]}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("url,error", [
    ("http://hooks.acme.test/x", "The URL must start with https://."),
    ("https://user:pw@hooks.acme.test/x", "must not contain a user name or password"),
    ("ftp://hooks.acme.test/x", "The URL must start with https://."),
    ("https:///nohost", "Enter a URL with a host name."),
])
def test_add_endpoint_refuses_bad_urls(admin_client, url, error):
    """Only https (no credentials in it); nothing is created on a refusal."""
    response = admin_client.post("/webhooks/new/", {"url": url})
    assert response.status_code == 200 and error in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_localhost_only_with_debug_or_sandbox(admin_client, settings):
    """http://localhost is accepted while local providers are allowed, refused otherwise."""
    settings.ALLOW_LOCAL_PROVIDERS = False
    refused = admin_client.post("/webhooks/new/", {"url": "http://localhost:9000/hooks"})
    assert "The URL must start with https://." in refused.content.decode()
    settings.ALLOW_LOCAL_PROVIDERS = True
    admin_client.post("/webhooks/new/", {"url": "http://localhost:9000/hooks"})
    assert WebhookEndpoint.objects.get().url == "http://localhost:9000/hooks"


@pytest.fixture
def endpoint(partner) -> WebhookEndpoint:
    row, _ = services.create_endpoint(partner=partner, url="https://hooks.acme.test/h",
                                      description="Backend")
    return row


def test_edit_disable_and_enable_again(admin_client, endpoint):
    """Save Changes audits the changed field names; enabling forgets the failures."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_at=timezone.now(), failing_since=timezone.now())
    response = admin_client.post(f"/webhooks/{endpoint.pk}/edit/", {
        "url": "https://hooks.acme.test/v2", "description": "Backend", "enabled": "on"})
    assert response["Location"] == f"/webhooks/{endpoint.pk}/"
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.acme.test/v2" and endpoint.enabled
    assert endpoint.disabled_at is None and endpoint.failing_since is None
    assert AuditEvent.objects.get(action="webhook_endpoint.updated").detail == {
        "endpoint": endpoint.pk, "fields": ["enabled", "url"]}


def test_rotate_shows_the_new_secret_once_and_keeps_the_old(admin_client, endpoint):
    """Rotate secret: new secret shown once; the old one signs alongside for 24 h; audited."""
    old = endpoint.secrets["current"]
    html = admin_client.post(f"/webhooks/{endpoint.pk}/rotate/").content.decode()
    new = secret_on(html)
    assert new != old and "24 hours" in html
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [new, old]
    assert AuditEvent.objects.filter(action="webhook_endpoint.secret_rotated").count() == 1


def test_send_test_event_and_resend(admin_client, endpoint):
    """Send test event queues one webhook.test; Resend makes a delivery due again."""
    response = admin_client.post(f"/webhooks/{endpoint.pk}/test/", follow=True)
    assert "Test event queued" in response.content.decode()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.event.type == "webhook.test"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", next_attempt_at=None)
    admin_client.post(f"/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/resend/")
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.next_attempt_at is not None


def test_delivery_log_filters_failed_and_escapes_bodies(admin_client, endpoint):
    """The log shows type, attempts, status code, time, body (escaped); ?failed=1 filters."""
    services.send_test(endpoint=endpoint)
    services.send_test(endpoint=endpoint)
    first, second = WebhookDelivery.objects.order_by("pk")
    WebhookDelivery.objects.filter(pk=first.pk).update(
        status="failed", attempts=7, last_status_code=500, last_response_ms=123,
        last_response_body="<script>alert(1)</script>", next_attempt_at=None)
    html = admin_client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "HTTP 500" in html and "123 ms" in html and "webhook.test" in html
    failed = admin_client.get(f"/webhooks/{endpoint.pk}/?failed=1").content.decode()
    assert first.event.public_id in failed and second.event.public_id not in failed


def test_delete_asks_then_deletes(admin_client, endpoint):
    """GET confirms; POST deletes the endpoint and its log, audited."""
    assert "Delete this endpoint?" in admin_client.get(
        f"/webhooks/{endpoint.pk}/delete/").content.decode()
    services.send_test(endpoint=endpoint)
    response = admin_client.post(f"/webhooks/{endpoint.pk}/delete/")
    assert response["Location"] == "/webhooks/"
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    assert AuditEvent.objects.filter(action="webhook_endpoint.deleted").count() == 1


def test_viewer_reads_but_changes_nothing(viewer_client, endpoint):
    """Viewers see the page and the log; every change is 403."""
    services.send_test(endpoint=endpoint)
    delivery = WebhookDelivery.objects.get()
    page = viewer_client.get("/webhooks/").content.decode()
    assert "Backend" in page and "Add endpoint" not in page
    detail = viewer_client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert "Rotate secret" not in detail and "Resend" not in detail
    for path in ("new/", f"{endpoint.pk}/edit/", f"{endpoint.pk}/delete/"):
        assert viewer_client.get(f"/webhooks/{path}").status_code == 403
    for path in (f"{endpoint.pk}/rotate/", f"{endpoint.pk}/test/", f"{endpoint.pk}/delete/",
                 f"{endpoint.pk}/deliveries/{delivery.pk}/resend/"):
        assert viewer_client.post(f"/webhooks/{path}").status_code == 403
    endpoint.refresh_from_db()
    assert WebhookEvent.objects.count() == 1 and WebhookEndpoint.objects.count() == 1


def test_other_partner_gets_404(other_client, endpoint):
    """Another partner's endpoint ids are not found, for reading and for changing."""
    services.send_test(endpoint=endpoint)
    delivery = WebhookDelivery.objects.get()
    assert other_client.get(f"/webhooks/{endpoint.pk}/").status_code == 404
    assert "hooks.acme.test" not in other_client.get("/webhooks/").content.decode()
    for path in (f"{endpoint.pk}/rotate/", f"{endpoint.pk}/test/", f"{endpoint.pk}/delete/",
                 f"{endpoint.pk}/deliveries/{delivery.pk}/resend/"):
        assert other_client.post(f"/webhooks/{path}").status_code == 404
    assert WebhookEvent.objects.count() == 1


def test_nav_has_webhooks(viewer_client):
    """Every member finds the Webhooks page in the navigation."""
    assert '<a href="/webhooks/"' in viewer_client.get("/webhooks/").content.decode()


def test_delivery_log_says_what_happened(admin_client, partner, receiver):
    """An attempt answered with HTTP 500 reads "Retrying (attempt 1, next at …)", not
    "Pending"; delivered and given-up ones read "Delivered" and "Failed"; "Show failed
    deliveries" lists every delivery whose last attempt failed (retrying or failed), and
    the time shown is the event's."""
    row, _ = services.create_endpoint(partner=partner, url=receiver.url)
    for _ in range(3):
        services.send_test(endpoint=row)
    retrying, delivered, failed = WebhookDelivery.objects.order_by("pk")
    WebhookEvent.objects.filter(pk=retrying.event_id).update(
        created_at=timezone.make_aware(timezone.datetime(2026, 1, 2, 3, 4, 5)))
    receiver.script = [Reply(500, b"boom"), Reply(200), Reply(500, b"boom")]
    deliver_all()  # the endpoint failed: passed over for the rest of this pass
    deliver_all()
    WebhookDelivery.objects.filter(pk=failed.pk).update(status="failed", next_attempt_at=None)
    retrying.refresh_from_db()
    assert retrying.status == "pending" and retrying.attempts == 1
    html = admin_client.get(f"/webhooks/{row.pk}/").content.decode()
    next_at = timezone.localtime(retrying.next_attempt_at).strftime("%Y-%m-%d %H:%M:%S")
    assert f"Retrying (attempt 1, next at {next_at} UTC)" in html
    assert ">Delivered<" in html and ">Failed<" in html and ">Pending<" not in html
    assert "2026-01-02 03:04:05" in html
    only_failed = admin_client.get(f"/webhooks/{row.pk}/?failed=1").content.decode()
    assert retrying.event.public_id in only_failed and failed.event.public_id in only_failed
    assert delivered.event.public_id not in only_failed
