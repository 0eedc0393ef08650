"""SECURITY.md "Requests and responses": console and customer pages send
`Cache-Control: no-store`; responses that choose their own caching (logos) keep it."""

from __future__ import annotations

from django.test import Client

from accounts.models import Account
from links.services import create_link


def test_console_customer_and_login_pages_are_not_stored(admin_client, partner):
    """The library, an account list, an install landing page and the login page: no-store."""
    _link, token = create_link(account=Account.objects.create(
        partner=partner, name="Initech", external_id="cust-1"), connectors=[])
    for response in (admin_client.get("/connectors/"), admin_client.get("/accounts/"),
                     Client().get(f"/install/{token}/"), Client().get("/login/"),
                     Client().get("/install/not-a-valid-token-at-all-000000000000/")):
        assert "no-store" in response["Cache-Control"], response.wsgi_request.path


def test_redirects_and_errors_are_not_stored(admin_client):
    """A redirect to the login page and a 404 carry no-store as well."""
    assert Client().get("/accounts/")["Cache-Control"] == "no-store"
    assert admin_client.get("/accounts/999999/")["Cache-Control"] == "no-store"


def test_a_response_with_its_own_cache_policy_keeps_it(admin_client, partner):
    """The partner's logo sets its own private caching; the middleware leaves it alone."""
    from tests.links.test_branding import form, image_bytes, upload

    admin_client.post("/accounts/branding/", form(logo_file=upload(image_bytes())))
    response = admin_client.get("/accounts/branding/logo/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=300"
