"""PagerDuty Events API v2: trigger and resolve with a stable `dedup_key` per group."""

from __future__ import annotations

import hashlib

import orjson

from agent_bruno.alerts.notifiers.base import Rendered, rfc3339
from agent_bruno.alerts.notifiers.text import alert_line, value_text, where
from agent_bruno.alerts.routing import Notification
from agent_bruno.alerts.subscription import Destination

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


def dedup_key(group_key: str) -> str:
    """One incident per group: triggers update it, the resolve closes it."""
    return "agent-bruno-" + hashlib.sha256(group_key.encode()).hexdigest()[:32]


class PagerDutyNotifier:
    """Renders Events API v2 events; the destination's secret is the routing key."""

    kind = "pagerduty"

    def __init__(self, link_base: str | None = None) -> None:
        self.link_base = link_base

    def render(self, note: Notification, dest: Destination, now: float) -> Rendered:
        """A trigger while anything fires, a resolve once everything has resolved."""
        key = "" if dest.secret is None else dest.secret.get_secret_value()
        event: dict[str, object] = {
            "routing_key": key,
            "dedup_key": dedup_key(note.group_key),
            "event_action": "trigger" if note.status == "firing" else "resolve",
        }
        if note.status == "firing":
            first = note.alerts[0]
            event["payload"] = {
                "summary": (note.title + " — " + alert_line(first))[:1024],
                "source": first.labels.get("node") or first.labels.get("location") or "agent-bruno",
                "severity": SEVERITY.get(note.severity, "warning"),
                "timestamp": rfc3339(first.starts_at),
                "component": first.labels.get("sensor") or None,
                "group": first.labels.get("location") or None,
                "class": first.labels.get("metric") or None,
                "custom_details": {
                    "rule": note.rule,
                    "notification_id": note.id,
                    "alerts": [
                        {
                            "status": v.status,
                            "where": where(v),
                            "value": value_text(v),
                            "since": rfc3339(v.starts_at),
                            "reason": v.reason,
                        }
                        for v in note.alerts
                    ],
                },
            }
            event["client"] = "agent-bruno"
            if self.link_base:
                link = f"{self.link_base}/v1/subscriptions/{note.sub_id}"
                event["client_url"] = link
                event["links"] = [{"href": link, "text": "agent-bruno subscription"}]
            payload = event["payload"]
            assert isinstance(payload, dict)
            event["payload"] = {k: v for k, v in payload.items() if v is not None}
        return Rendered(orjson.dumps(event), {})
