"""Standard Webhooks signing (https://www.standardwebhooks.com/) with the `standardwebhooks` package."""

import base64
import json
import secrets
from datetime import datetime
from math import floor

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def secret_generate() -> str:
    """A new `whsec_` secret: 32 random bytes, base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def payload_body(payload: dict) -> str:
    """The exact bytes sent (and signed): compact JSON, keys in a stable order."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def signature_header(*, secrets_: list[str], webhook_id: str, timestamp: datetime, body: str) -> str:
    """`webhook-signature`: one `v1,<base64>` per secret, space-separated (two during a rotation overlap)."""
    return " ".join(Webhook(s).sign(msg_id=webhook_id, timestamp=timestamp, data=body) for s in secrets_)


def signature_headers(*, secrets_: list[str], webhook_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(floor(timestamp.timestamp())),
        "webhook-signature": signature_header(secrets_=secrets_, webhook_id=webhook_id, timestamp=timestamp, body=body),
    }
