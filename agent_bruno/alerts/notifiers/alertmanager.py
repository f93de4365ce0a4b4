"""Prometheus Alertmanager: `POST /api/v2/alerts`, re-sent while firing as Alertmanager expects.

Each alert carries `startsAt` and an `endsAt`: for a firing alert a few resend intervals ahead,
so that Alertmanager resolves it by itself if the agent stops re-sending (it is gone); for a
resolved one the time it resolved. Alertmanager groups, deduplicates and routes on its side.
"""

from __future__ import annotations

import orjson

from agent_bruno.alerts.notifiers.base import Rendered, rfc3339
from agent_bruno.alerts.notifiers.text import alert_line, value_text
from agent_bruno.alerts.routing import ALERTMANAGER_RESEND_S, Notification
from agent_bruno.alerts.subscription import Destination

ENDS_AFTER_S = 4 * ALERTMANAGER_RESEND_S  # resolved by Alertmanager itself if we go away


class AlertmanagerNotifier:
    """Renders Alertmanager API v2 alerts."""

    kind = "alertmanager"

    def __init__(self, link_base: str | None = None) -> None:
        self.link_base = link_base

    def render(self, note: Notification, dest: Destination, now: float) -> Rendered:
        """One Alertmanager alert per alert of the notification."""
        alerts = []
        for v in note.alerts:
            labels = {k: val for k, val in v.labels.items() if val}
            labels.update(
                alertname=_alertname(note.name),
                severity=v.severity,
                subscription=note.sub_id,
                owner=note.owner,
            )
            # Never a future end for a resolved alert (Alertmanager would keep it active).
            if v.status == "resolved" and v.ends_at:
                ends = min(v.ends_at, now)
            else:
                ends = now + ENDS_AFTER_S
            alert = {
                "labels": labels,
                "annotations": {
                    "summary": note.title,
                    "description": alert_line(v),
                    "rule": note.rule,
                    "value": value_text(v),
                },
                "startsAt": rfc3339(min(v.starts_at, now)),
                "endsAt": rfc3339(ends),
            }
            if self.link_base:
                alert["generatorURL"] = f"{self.link_base}/v1/subscriptions/{note.sub_id}"
            alerts.append(alert)
        return Rendered(orjson.dumps(alerts), {}, path="/api/v2/alerts")


def _alertname(name: str) -> str:
    """A label-safe form of the subscription's name."""
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:120] or "agent_bruno"
