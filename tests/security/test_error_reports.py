"""SECURITY.md "Logging": every view that receives a secret in its POST body marks it
sensitive, so Django's error reports show the parameters as stars."""

from __future__ import annotations

import pytest
from django.views.debug import SafeExceptionReporterFilter

from installs.models import Install
from links import services as links
from tests.factories import install_path, make_connector
from tests.security.test_isolation import CONNECTOR

SECRET = "fake-posted-secret-err-1"


@pytest.fixture
def keyed(account):
    return make_connector("keyed", CONNECTOR)


def secret_posts(account, keyed) -> dict[str, tuple]:
    """Every endpoint taking a secret: (client kind, path, data)."""
    install = Install.objects.create(account=account, connector=keyed)
    _link, token = links.create_link(account=account, connectors=[keyed])
    return {
        "login": ("anonymous", "/login/", {"username": "alice@acme.test", "password": SECRET}),
        "settings": ("admin", "/connectors/1st-connect/settings/", {"consumer_secret": SECRET}),
        "install new": ("admin", f"/accounts/{account.pk}/install/keyed/", {"api_key": SECRET}),
        "install edit": ("admin", install_path(install, "edit"), {"api_key": SECRET}),
        "edit, authenticate": ("admin", install_path(install, "edit") + "?authenticate=1",
                               {"api_key": SECRET}),
        "customer connect": ("anonymous", f"/install/{token}/connect/keyed/",
                             {"step": "details", "api_key": SECRET}),
        "customer reconnect": ("anonymous", f"/install/{token}/reconnect/{install.pk}/",
                               {"step": "details", "api_key": SECRET}),
    }


def test_views_receiving_secrets_hide_them_from_error_reports(client, admin_client, account,
                                                              keyed, sandbox_transport):
    """Login, Authentication Settings, install forms, customer connect: POST data is starred."""
    from tests.factories import catalogue_connector

    catalogue_connector("1st-connect")
    for name, (who, path, data) in secret_posts(account, keyed).items():
        response = (admin_client if who == "admin" else client).post(path, data)
        request = response.wsgi_request
        assert getattr(request, "sensitive_post_parameters", None) == "__ALL__", name
        shown = SafeExceptionReporterFilter().get_post_parameters(request)
        assert SECRET not in str(dict(shown)), name
