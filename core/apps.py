from django.apps import AppConfig
from django.core import checks
from django.core.signals import request_finished

from core import request_id
from core.checks import DEPLOY_CHECKS


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        for check in DEPLOY_CHECKS:
            checks.register(check, checks.Tags.security, deploy=True)
        request_finished.connect(request_id.clear, dispatch_uid="core.request_id.clear")
