from django.apps import AppConfig
from django.db.models.signals import post_save


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from django.contrib.admin.models import LogEntry  # models load after the apps

        from audit.admin_changes import audit_admin_change

        post_save.connect(audit_admin_change, sender=LogEntry,
                          dispatch_uid="audit_admin_change")
