"""Answers to "how many": nodes, sensors, locations, metrics, readings and anomalies, each
counted from its own source and named, so one is never given for another."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent_bruno.agent.compose.fmt import Formatter, join, label, over, plural, range_words
from agent_bruno.agent.compose.status import (
    NO_SUCH_STATUS,
    STATUS_WORDS,
    _matches,
    anomalies,
    episodes,
)


def nodes(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """How many nodes (at a location, if one was named), or how many in one status."""
    items = data["nodes"]
    where = hints.get("filters") or {}
    if where.get("location"):
        items = [n for n in items if n["location"] == where["location"]]
        names = join([n["node"] for n in items])
        return f"There are {plural(len(items), 'node')} in {where['location']}: {names}."
    status = hints.get("status")
    if status:
        chosen = [n for n in items if _matches(status, n["status"])]
        names = join([f"{n['node']} ({n['location']})" for n in chosen])
        verb = "is" if len(chosen) == 1 else "are"
        tail = f": {names}" if chosen else ""
        state = STATUS_WORDS[status]
        lead = NO_SUCH_STATUS.get(status, "")
        count = plural(len(chosen), "node")
        return f"{lead}{count} {verb} {state} out of {len(items)}{tail}."
    split = join(
        [f"{data['counts'][s]} {s}" for s in ("healthy", "warning", "offline") if data["counts"][s]]
    )
    names = join([f"{n['node']} ({n['location']})" for n in items])
    return f"There are {plural(len(items), 'node')} ({split}): {names}."


def inventory(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any], what: str) -> str:
    """How many sensors (physical ones; each node's own health is counted apart), locations
    or metrics."""
    if what == "locations":
        locations = list(data["locations"])
        return f"There are {plural(len(locations), 'location')}: {join(locations)}."
    if what == "metrics":
        metrics = [f"{label(m)} ({u})" if u else label(m) for m, u in data["metrics"].items()]
        return f"There are {plural(len(metrics), 'metric')}: {join(metrics)}."
    where = hints.get("filters") or {}
    by_node = data["sensors"]
    if where.get("node"):
        by_node = {n: s for n, s in by_node.items() if n == where["node"]}
    elif where.get("location"):
        by_node = {n: s for n, s in by_node.items() if data["nodes"].get(n) == where["location"]}
    metric = where.get("metric")
    if metric:
        by_node = {
            n: {s: m for s, m in sensors.items() if metric in m}
            for n, sensors in by_node.items()
            if any(metric in m for m in sensors.values())
        }
    physical = [(n, s) for n, sensors in sorted(by_node.items()) for s in sensors if s != "node"]
    scope = where.get("node") or where.get("location") or "the homelab"
    if metric:
        scope = f"{scope} measuring {label(metric)}"
    detail = "; ".join(
        f"{n}: {', '.join(s for s in sorted(sensors) if s != 'node')}"
        for n, sensors in sorted(by_node.items())
    )
    verb = "is" if len(physical) == 1 else "are"
    return (
        f"There {verb} {plural(len(physical), 'sensor')} in {scope}, on "
        f"{plural(len(by_node), 'node')} ({detail}), plus each node's own health metrics."
    )


def readings(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """How many readings the matching series took over the range, in all and per series."""
    span_label = range_words(hints)
    series = data["series"]
    total = sum(int(s.get("count") or 0) for s in series)
    where = data["filters"].get("node") or data["filters"].get("location") or "all nodes"
    what = label(data["filters"].get("metric")) if data["filters"].get("metric") else "all series"
    lines = [f"{plural(total, 'reading')} {over(span_label)} from {where} ({what}):"]
    for s in series:
        lines.append(
            f"- {s['node']} {s['sensor']} {label(s['metric'])}: "
            f"{plural(int(s.get('count') or 0), 'reading')}"
        )
    lines.append("(Counted from the 5-minute aggregates, which count every reading taken.)")
    return "\n".join(lines)


def count(f: Formatter, subject: str, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """The count of one subject from its tool's data."""
    if subject == "anomalies":
        return anomalies(f, data, hints)
    if subject == "episodes":
        return episodes(f, data, hints)
    if subject == "readings":
        return readings(f, data, hints)
    if subject in ("sensors", "locations", "metrics"):
        return inventory(f, data, hints, subject)
    return nodes(f, data, hints)
