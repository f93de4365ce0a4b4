"""Slack incoming webhooks: a Block Kit message (header, fields, context with a link back)."""

from __future__ import annotations

from typing import Any

import orjson

from agent_bruno.alerts.notifiers.base import Rendered
from agent_bruno.alerts.notifiers.text import alert_line, value_text, when, where
from agent_bruno.alerts.routing import Notification
from agent_bruno.alerts.subscription import Destination

# Slack's limits: header text 150 chars, section text 3,000, a field 2,000, 10 fields, 50 blocks.
HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
MAX_ALERT_SECTIONS = 20


def escape(text: str) -> str:
    """Escape text for Slack mrkdwn (&, <, > are control characters there)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SlackNotifier:
    """Renders Block Kit for an incoming webhook."""

    kind = "slack"

    def __init__(self, link_base: str | None = None) -> None:
        self.link_base = link_base

    def render(self, note: Notification, dest: Destination, now: float) -> Rendered:
        """A Block Kit message; `text` is the notification fallback Slack shows in alerts."""
        icon = ":rotating_light:" if note.status == "firing" else ":white_check_mark:"
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": _cut(note.title, 150)}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _cut(f"{icon} *Rule:* {escape(note.rule)}", SECTION_MAX),
                },
            },
        ]
        for view in note.alerts[:MAX_ALERT_SECTIONS]:
            since = when(view.starts_at)
            if view.status == "resolved" and view.ends_at is not None:
                since = f"{since} → {when(view.ends_at)}"
            fields = [
                ("What", f"{view.labels.get('metric') or note.rule} ({view.status})"),
                ("Where", where(view)),
                ("Value", value_text(view) or "—"),
                ("Since", since),
            ]
            if view.reason:
                fields.append(("Why", view.reason))
            blocks.append(
                {
                    "type": "section",
                    "fields": [
                        {"type": "mrkdwn", "text": _cut(f"*{k}*\n{escape(v)}", FIELD_MAX)}
                        for k, v in fields
                    ],
                }
            )
        hidden = len(note.alerts) - MAX_ALERT_SECTIONS
        context = f"severity {note.severity} · notification {note.id}"
        if hidden > 0:
            context = f"{hidden} more alerts not shown · " + context
        if self.link_base:
            context += f" · <{self.link_base}/v1/subscriptions/{note.sub_id}|subscription>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
        fallback = "; ".join([note.title, *(alert_line(v) for v in note.alerts[:3])])
        body = {"text": _cut(fallback, SECTION_MAX), "blocks": blocks}
        return Rendered(orjson.dumps(body), {})
