from django.apps import AppConfig
from django.conf import settings


class LinksConfig(AppConfig):
    name = "links"
    verbose_name = "Install links"

    def ready(self) -> None:
        """Register with the layers below, which never import this app: the OAuth
        callback hands customers' sign-ins to the install link pages, the Branding
        page takes a logo upload, and the customer pages (reached through a link that
        names PUBLIC_URL already) answer on any allowed host."""
        from core.middleware import BodyRule, register_any_host, register_body_rule
        from installs.callback import register_link_finisher
        from links.browser import finish_link_attempt

        register_link_finisher(finish_link_attempt)
        register_any_host("install")
        register_body_rule("links:branding", BodyRule(
            limit=lambda: settings.MAX_UPLOAD_REQUEST_BODY, uploads=True))
