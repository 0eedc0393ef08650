"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

`webhook-signature` is `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` keyed by
the base64-decoded secret after `whsec_`; during a rotation overlap there is one per
secret, space-separated, and a receiver accepts the delivery when any one verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from webhooks.models import SECRET_PREFIX


def signature(secret: str, *, msg_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secrets: Sequence[str], *, msg_id: str, timestamp: int,
            body: str) -> dict[str, str]:
    """The headers of one delivery attempt (the id is the same on every retry)."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "Hatchway-Webhooks/1.0",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, msg_id=msg_id, timestamp=timestamp, body=body)
            for secret in secrets),
    }
