"""`manage.py refresh_tokens`: refresh every due install once, or keep doing it (--loop).

Each pass also retries the revocations a provider could not take at deauthentication
(installs/revocation.py) and purges abandoned sign-ins. Run as many as you like, on as
many machines as you like, against one PostgreSQL: row locks (`FOR UPDATE SKIP LOCKED`)
make sure no install is refreshed, and no revocation sent, twice. SIGTERM or SIGINT
finishes the row in hand and exits 0 (core/workers.py). `manage.py worker` runs these
jobs and the webhook ones in one process.
"""

from __future__ import annotations

from core.workers import WorkerCommand
from installs import jobs


class Command(WorkerCommand):
    help = ("Refresh access tokens that expire within TOKEN_REFRESH_MARGIN and retry "
            "pending revocations.")
    jobs = jobs.JOBS
