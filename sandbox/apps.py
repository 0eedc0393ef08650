from __future__ import annotations

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox third-party application"

    def ready(self) -> None:
        """A stand-in third party answers on any host, as a real one would."""
        from core.middleware import register_any_host

        register_any_host("sandbox")
