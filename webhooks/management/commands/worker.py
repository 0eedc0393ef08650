"""`manage.py worker`: every background job in one loop -- token refresh, revocation
retries, the purge of abandoned sign-ins, the webhook relay, deliveries and pruning --
until SIGTERM/SIGINT (which finishes the row in hand and exits 0); `--once` for one pass.

It lives here, in the topmost app with background work, because it names the jobs of
the apps below. The single-purpose commands (refresh_tokens, deliver_webhooks) stay.
"""

from __future__ import annotations

from core.workers import WorkerCommand
from installs import jobs as install_jobs
from webhooks import jobs as webhook_jobs


class Command(WorkerCommand):
    help = "Run every background job (refresh, revocations, purges, webhooks) in one loop."
    jobs = (*install_jobs.JOBS, *webhook_jobs.JOBS)
    loop_by_default = True
    default_interval = 2.0
    quiet = True
