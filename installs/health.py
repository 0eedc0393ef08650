"""What `/healthz/ready` asks installs: is any background work due? (`READY_DUE_WORK`)"""

from __future__ import annotations

from django.utils import timezone

from installs.models import Install, PendingRevocation, due_filter


def work_due() -> bool:
    """A token to refresh or a revocation to retry: a worker should be running (two
    indexed EXISTS queries)."""
    return (Install.objects.filter(due_filter()).exists()
            or PendingRevocation.objects.filter(next_attempt_at__lte=timezone.now()).exists())
