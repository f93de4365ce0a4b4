"""Answers about values: the latest reading, and statistics over a range, with how much data
stands behind them and the open anomalies of the series asked about."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent_bruno.agent.compose.faults import faults_note
from agent_bruno.agent.compose.fmt import Formatter, label, over, place, plural, range_words

Series = Mapping[str, Any]
STAT_WORDS = {"mean": "avg", "min": "min", "max": "max"}
COVERAGE_SLACK_S = 600.0  # data starting this much after the range starts is said


def subject(filters: Mapping[str, Any]) -> str:
    """What the question was about: "Temperature in warehouse", "CPU on pi-node-3"."""
    where = filters.get("node") or filters.get("location")
    what = label(filters.get("metric"))
    what = what[0].upper() + what[1:]
    if filters.get("sensor"):
        where = f"{where}'s {filters['sensor']}" if where else filters["sensor"]
    if filters.get("location") and not filters.get("node"):
        return f"{what} in {where}"
    return f"{what} on {where}" if where else what


def latest(f: Formatter, s: Series) -> str:
    """The latest value with its freshness, or that there is none recently."""
    if s.get("latest") is None:
        return "no reading stored"
    value = f.value(s["latest"], s["unit"], s["metric"])
    if f.stale(s.get("latest_ts")):
        return f"no reading since {f.clock(s['latest_ts'])} ({f.age(s['latest_ts'])}; last {value})"
    return f"{value}, {f.fresh(s['latest_ts'])}"


def nearest_data(f: Formatter, s: Series) -> str:
    """Where a series' data is, for a range that holds none of it."""
    first, last = s.get("first_ts"), s.get("last_ts")
    if first is None or last is None:
        return "nothing stored"
    if not f.stale(last):
        return f"it has readings since {f.clock(first)}"
    return f"it has readings from {f.clock(first)} to {f.clock(last)}"


def coverage(f: Formatter, s: Series, span: Mapping[str, Any] | None, default_s: float) -> str:
    """ " (data from 14:52, 8 min)" when the data starts well after the range does."""
    first = s.get("first_ts")
    if first is None or not s.get("count"):
        return ""
    start = span["start"] if span else f.now - default_s
    end = span["end"] if span else f.now
    if first <= start + COVERAGE_SLACK_S or first >= end:
        return ""
    return f" (data from {f.clock(first)}, {f.duration(min(end, f.now) - first)})"


def stats_text(f: Formatter, s: Series, hints: Mapping[str, Any], aggregates: Sequence[str]) -> str:
    """The asked statistics over the range ("avg 18.3 °C, min 17.9 °C") or the gap said."""
    span_label = range_words(hints)
    if not s.get("count"):
        return f"no readings {over(span_label)}; {nearest_data(f, s)}"
    unit, metric = s["unit"], s["metric"]
    asked = [a for a in ("mean", "min", "max") if a in aggregates] or ["mean", "min", "max"]
    parts = ", ".join(f"{STAT_WORDS[a]} {f.value(s[a], unit, metric)}" for a in asked)
    return (
        f"{parts} {over(span_label)}{coverage(f, s, hints.get('span'), 3600.0)}{faults_note(f, s)}"
    )


def _open_note(f: Formatter, context: Mapping[str, Mapping[str, Any]], s: Series) -> str:
    """What is wrong with the series now, said next to its value: its open anomaly episode,
    else its flagged readings of the last hour (data without episodes)."""
    key = (s["node"], s["sensor"], s["metric"])
    episodes = context.get("anomaly_episodes") or {}
    for e in episodes.get("episodes", ()):
        if e.get("open") and (e["node"], e["sensor"], e["metric"]) == key:
            peak = ""
            if e.get("peak_value") is not None:
                peak = f", peak {f.value(e['peak_value'], e['unit'], e['metric'])}"
            return (
                f" — open {e['severity']} anomaly episode since {f.clock(e['start'])} "
                f"({e['rule']}{peak}): {e['reason']}"
            )
    flagged = context.get("anomalies") or {}
    mine = [a for a in flagged.get("anomalies", ()) if (a["node"], a["sensor"], a["metric"]) == key]
    if not mine:
        return ""
    newest = mine[0]
    value = (
        "no reading"
        if newest["value"] is None
        else f.value(newest["value"], newest["unit"], newest["metric"])
    )
    worst = "critical" if any(a["severity"] == "critical" for a in mine) else "warning"
    return (
        f" — open {worst} anomaly: {plural(len(mine), 'flagged reading')} since "
        f"{f.clock(mine[-1]['ts'])}, newest {value} at {f.clock(newest['ts'])}"
    )


def current(
    f: Formatter,
    summaries: Sequence[Mapping[str, Any]],
    hints: Mapping[str, Any],
    context: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The latest value per series, where and how fresh; the range's statistics only when the
    question named a range; open anomalies of those series."""
    blocks = []
    for data in summaries:
        if data["filters"].get("metric") is None:
            blocks.append(_all_readings(f, data, hints, context or {}))
            continue
        lines = [f"{subject(data['filters'])}:"]
        for s in data["series"]:
            text = latest(f, s)
            if hints.get("span"):
                text += f"; {stats_text(f, s, hints, hints.get('aggregates') or ())}"
            lines.append(f"- {place(s)}: {text}{_open_note(f, context or {}, s)}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _all_readings(
    f: Formatter,
    data: Mapping[str, Any],
    hints: Mapping[str, Any],
    context: Mapping[str, Mapping[str, Any]],
) -> str:
    """Every metric of the matching nodes, grouped by node."""
    by_node: dict[str, list[Series]] = {}
    for s in data["series"]:
        by_node.setdefault(s["node"], []).append(s)
    where = data["filters"].get("node") or data["filters"].get("location") or "every node"
    n = len(data["series"])
    lines = [f"Latest readings from {where} ({plural(n, 'series', 'series')}):"]
    for node, items in by_node.items():
        lines.append(f"{node} ({items[0]['location']}):")
        for s in items:
            text = latest(f, s)
            if hints.get("span"):
                text += f"; {stats_text(f, s, hints, ())}"
            lines.append(
                f"- {label(s['metric'])} ({s['sensor']}): {text}{_open_note(f, context, s)}"
            )
    return "\n".join(lines)


def stats(f: Formatter, summaries: Sequence[Mapping[str, Any]], hints: Mapping[str, Any]) -> str:
    """Only the statistics asked for ("lowest and highest"), per series, over the range."""
    aggregates = list(hints.get("aggregates") or ())
    blocks = []
    for data in summaries:
        if data["filters"].get("metric") is None:
            blocks.append(
                _all_readings(
                    f,
                    data,
                    {
                        **hints,
                        "span": hints.get("span")
                        or {"start": f.now - 3600, "end": f.now, "label": "the last hour"},
                    },
                    {},
                )
            )
            continue
        series = data["series"]
        lines = [f"{subject(data['filters'])}:"]
        for s in series:
            lines.append(f"- {place(s)}: {stats_text(f, s, hints, aggregates)}")
        combined = _combined(series, aggregates)
        if combined:
            lines.append(combined(f))
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _combined(series: Sequence[Series], aggregates: Sequence[str]) -> Any:
    """Across several series of one metric and unit: the overall asked statistic."""
    counted = [s for s in series if s.get("count")]
    if len(counted) < 2 or len({(s["metric"], s["unit"]) for s in counted}) != 1:
        return None
    unit, metric = counted[0]["unit"], counted[0]["metric"]
    total = sum(s["count"] for s in counted)
    values = {
        "mean": sum(s["mean"] * s["count"] for s in counted) / total,
        "min": min(s["min"] for s in counted),
        "max": max(s["max"] for s in counted),
    }
    asked = [a for a in ("mean", "min", "max") if a in aggregates] or ["mean"]

    def text(f: Formatter) -> str:
        parts = ", ".join(f"{STAT_WORDS[a]} {f.value(values[a], unit, metric)}" for a in asked)
        return f"Overall: {parts}."

    return text
