"""Words every channel shares: what fired, where, the value against the rule, since when."""

from __future__ import annotations

from datetime import UTC, datetime

from agent_bruno.alerts.routing import AlertView, Notification


def where(view: AlertView) -> str:
    """Location, node and sensor of an alert ("warehouse-b · pi-node-2 · dht22-1")."""
    parts = [view.labels.get(k, "") for k in ("location", "node", "sensor")]
    return " · ".join(p for p in parts if p) or "everywhere"


def _with_unit(value: float, unit: str) -> str:
    shown = f"{value:.4g}"
    if not unit:
        return shown
    return f"{shown}{unit}" if unit == "%" else f"{shown} {unit}"


def value_text(view: AlertView) -> str:
    """The value with its unit: the worst seen while firing; once resolved, the value it is
    back at and the worst ("33.2% now, worst 14.8%"); empty when there is none."""
    unit = view.labels.get("unit", "")
    if view.status == "resolved" and view.value is not None:
        now = _with_unit(view.value, unit) + " now"
        return now if view.peak is None else f"{now}, worst {_with_unit(view.peak, unit)}"
    value = view.peak if view.peak is not None else view.value
    return "" if value is None else _with_unit(value, unit)


def when(ts: float) -> str:
    """A time as "2025-11-26 14:23 UTC"."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def alert_line(view: AlertView) -> str:
    """One alert in one line of plain text."""
    value = value_text(view)
    head = f"{view.labels.get('metric', '')} {value}".strip()
    since = f"since {when(view.starts_at)}"
    if view.status == "resolved" and view.ends_at is not None:
        since = f"{when(view.starts_at)} → {when(view.ends_at)}"
    reason = f" ({view.reason})" if view.reason else ""
    lead = f"{head} at " if head else ""
    return f"{view.status.upper()}: {lead}{where(view)}, {since}{reason}"


def summary(note: Notification) -> str:
    """A one-paragraph plain-text summary of the notification."""
    lines = [note.title, f"Rule: {note.rule}"]
    lines.extend(alert_line(v) for v in note.alerts)
    return "\n".join(lines)
