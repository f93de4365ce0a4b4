"""Generic webhooks: the notification as JSON, signed with HMAC-SHA256 over timestamp and body.

Headers: `X-Bruno-Notification-Id` (the same on every retry: receivers deduplicate on it),
`X-Bruno-Timestamp` (Unix seconds) and `X-Bruno-Signature: v1=<hex>`, the HMAC-SHA256 with the
destination's secret of `<timestamp>.<body>`. A receiver recomputes it, compares in constant
time and refuses timestamps more than 5 minutes old.
"""

from __future__ import annotations

import hashlib
import hmac

import orjson

from agent_bruno.alerts.notifiers.base import Rendered
from agent_bruno.alerts.notifiers.text import summary
from agent_bruno.alerts.routing import Notification
from agent_bruno.alerts.subscription import Destination

SCHEMA_VERSION = 1


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Bruno-Signature` value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, now: float, tolerance_s: float = 300.0
) -> bool:
    """Whether a signature is right and fresh (what a receiver does)."""
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookNotifier:
    """Renders the signed JSON body."""

    kind = "webhook"

    def __init__(self, link_base: str | None = None) -> None:
        self.link_base = link_base

    def render(self, note: Notification, dest: Destination, now: float) -> Rendered:
        """The body and its signature headers (unsigned when the destination has no secret)."""
        data = note.as_json()
        data["version"] = SCHEMA_VERSION
        data["text"] = summary(note)
        if self.link_base:
            data["link"] = f"{self.link_base}/v1/subscriptions/{note.sub_id}"
        body = orjson.dumps(data)
        stamp = str(int(now))
        headers = {"X-Bruno-Notification-Id": note.id, "X-Bruno-Timestamp": stamp}
        if dest.secret is not None:
            headers["X-Bruno-Signature"] = sign(dest.secret.get_secret_value(), stamp, body)
        return Rendered(body, headers)
