from django.apps import AppConfig
from django.conf import settings


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Partner API"

    def ready(self) -> None:
        """The proxy passes request bodies through unparsed, up to PROXY_MAX_BODY, and the
        API answers on any allowed host (backends call it by any name); registered with
        core/middleware.py, which imports no app of ours."""
        from core.middleware import BodyRule, register_any_host, register_body_rule

        register_any_host("api")
        register_body_rule("api:proxy", BodyRule(limit=lambda: settings.PROXY_MAX_BODY,
                                                 pass_through=True))
