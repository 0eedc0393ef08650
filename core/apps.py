from django.apps import AppConfig
from django.core import checks

from core.checks import DEPLOY_CHECKS


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        for check in DEPLOY_CHECKS:
            checks.register(check, checks.Tags.security, deploy=True)
