"""The apps above register with the layers below in `AppConfig.ready()`; settings name no
code (docs/architecture.md, "Calling up a layer")."""

from __future__ import annotations

from django.conf import settings

from core.middleware import BODY_RULES, body_limit
from installs.callback import link_finisher
from links.browser import finish_link_attempt


def test_the_install_link_pages_end_the_sign_ins_they_started():
    """The callback hands customers' sign-ins to what links/apps.py registered."""
    assert link_finisher() is finish_link_attempt


def test_body_rules_come_from_the_apps_and_read_their_setting_per_request(settings):
    """Branding takes uploads, the proxy passes bodies through; each limit follows its setting."""
    assert BODY_RULES["links:branding"].uploads and not BODY_RULES["links:branding"].pass_through
    assert BODY_RULES["api:proxy"].pass_through and not BODY_RULES["api:proxy"].uploads
    settings.MAX_UPLOAD_REQUEST_BODY, settings.PROXY_MAX_BODY = 1234, 5678
    assert (body_limit("links:branding"), body_limit("api:proxy")) == (1234, 5678)
    settings.MAX_REQUEST_BODY = 99
    assert body_limit("accounts:list") == 99


def test_settings_name_no_code_or_other_settings():
    """No dotted path and no setting names as values: settings are deploy-time choices."""
    for name in ("LINK_SIGN_IN_FINISHER", "BODY_LIMIT_SETTINGS", "UPLOAD_URL_NAMES",
                 "PASS_THROUGH_URL_NAMES"):
        assert not hasattr(settings, name), name
