"""Answers about values: current readings, statistics, rankings, comparisons, series."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent_bruno.agent.compose.faults import faults_note
from agent_bruno.agent.compose.fmt import Formatter, join, label, place, range_words

Series = Mapping[str, Any]


def _stats(f: Formatter, s: Series, span_label: str) -> str:
    """ "avg 18.3 °C, min 17.9 °C, max 18.6 °C over the last hour" or the gap said plainly."""
    if not s.get("count"):
        return f"no data in {span_label}"
    unit, metric = s["unit"], s["metric"]
    return (
        f"avg {f.value(s['mean'], unit, metric)}, min {f.value(s['min'], unit, metric)}, "
        f"max {f.value(s['max'], unit, metric)} over {span_label}{faults_note(f, s)}"
    )


def _latest(f: Formatter, s: Series) -> str:
    """The latest value with its freshness, or that there is none recently."""
    if s.get("latest") is None:
        return "no reading stored"
    value = f.value(s["latest"], s["unit"], s["metric"])
    if f.stale(s.get("latest_ts")):
        return f"no reading since {f.clock(s['latest_ts'])} ({f.age(s['latest_ts'])}; last {value})"
    return f"{value}, {f.fresh(s['latest_ts'])}"


def _subject(filters: Mapping[str, Any]) -> str:
    """What the question was about: "temperature in the warehouse"."""
    where = filters.get("node") or filters.get("location")
    what = label(filters.get("metric"))
    what = what[0].upper() + what[1:]
    if filters.get("sensor"):
        where = f"{where}'s {filters['sensor']}" if where else filters["sensor"]
    return (
        f"{what} in {where}"
        if filters.get("location") and not filters.get("node")
        else (f"{what} on {where}" if where else what)
    )


def current(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """Latest value per series, with where and how fresh, and the range's statistics."""
    series: Sequence[Series] = data["series"]
    span_label = range_words(hints)
    if data["filters"].get("metric") is None:
        return _all_readings(f, data, span_label)
    lines = [f"{_subject(data['filters'])}:"]
    for s in series:
        lines.append(f"- {place(s)}: {_latest(f, s)}; {_stats(f, s, span_label)}")
    if len(series) > 1:
        combined = _combined(series)
        if combined is not None:
            unit, metric = series[0]["unit"], series[0]["metric"]
            lines.append(f"Overall {f.value(combined, unit, metric)} on average over {span_label}.")
    return "\n".join(lines)


def _combined(series: Sequence[Series]) -> float | None:
    """The count-weighted mean over several series of one metric and unit."""
    units = {(s["metric"], s["unit"]) for s in series}
    total = sum(s["count"] for s in series)
    if len(units) != 1 or not total:
        return None
    return float(sum(s["mean"] * s["count"] for s in series if s["count"]) / total)


def _all_readings(f: Formatter, data: Mapping[str, Any], span_label: str) -> str:
    """Every metric of the matching nodes, grouped by node."""
    by_node: dict[str, list[Series]] = {}
    for s in data["series"]:
        by_node.setdefault(s["node"], []).append(s)
    where = data["filters"].get("node") or data["filters"].get("location") or "every node"
    lines = [f"Readings from {where} over {span_label} ({len(data['series'])} series):"]
    for node, items in by_node.items():
        lines.append(f"{node} ({items[0]['location']}):")
        for s in items:
            latest, stats = _latest(f, s), _stats(f, s, span_label)
            lines.append(f"- {label(s['metric'])} ({s['sensor']}): {latest}; {stats}")
    return "\n".join(lines)


def _value_for(s: Series, aggregate: str | None, ranged: bool) -> float | None:
    """The number a ranking or comparison uses: the asked statistic, else latest or mean."""
    if aggregate in ("min", "max", "mean") and s.get("count"):
        return float(s[aggregate])
    if ranged and s.get("count"):
        return float(s["mean"])
    return None if s.get("latest") is None else float(s["latest"])


def _by_place(
    series: Sequence[Series], key: str, aggregate: str | None, ranged: bool
) -> dict[str, tuple[float, list[Series]]]:
    """Series grouped by location (or node) with the group's value (mean of its members)."""
    groups: dict[str, list[Series]] = {}
    for s in series:
        if _value_for(s, aggregate, ranged) is not None:
            groups.setdefault(s[key], []).append(s)
    out = {}
    for name, items in groups.items():
        values = [v for v in (_value_for(s, aggregate, ranged) for s in items) if v is not None]
        out[name] = (sum(values) / len(values), items)
    return out


def rank(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """Locations (or nodes) ordered by the metric."""
    series: Sequence[Series] = data["series"]
    question = str(hints.get("question", "")).lower()
    key = "node" if "node" in question or " pi" in question else "location"
    ranged = bool(hints.get("span"))
    aggregate = hints.get("aggregate") if ranged else None
    groups = _by_place(series, key, aggregate, ranged)
    if not groups:
        return f"No {label(data['filters'].get('metric'))} values to rank."
    high = hints.get("order", "high") == "high"
    ordered = sorted(groups.items(), key=lambda kv: kv[1][0], reverse=high)
    unit, metric = series[0]["unit"], series[0]["metric"]
    basis = (
        f"{aggregate if aggregate else 'average'} over {range_words(hints)}"
        if ranged
        else "latest readings"
    )
    top_name, (top_value, top_items) = ordered[0]
    word = {"high": "highest", "low": "lowest"}["high" if high else "low"]
    lines = [
        f"{top_name} has the {word} {label(metric)}: {f.value(top_value, unit, metric)} "
        f"({basis}; {join([_member(f, s, aggregate, ranged) for s in top_items])})."
    ]
    lines.append("Ranking:")
    for i, (name, (value, items)) in enumerate(ordered, 1):
        stale = [s for s in items if f.stale(s.get("latest_ts"))]
        note = ""
        if stale and not ranged:
            note = f" (stale: no reading since {f.clock(stale[0]['latest_ts'])})"
        lines.append(f"{i}. {name}: {f.value(value, unit, metric)}{note}")
    return "\n".join(lines)


def _member(f: Formatter, s: Series, aggregate: str | None, ranged: bool) -> str:
    """One series inside a group: "pi-node-1 dht22-1 18.4 °C as of 14:20"."""
    value = _value_for(s, aggregate, ranged)
    text = f"{s['node']} {s['sensor']} {f.value(value, s['unit'], s['metric'])}"
    return text if ranged else f"{text} {f.fresh(s.get('latest_ts'))}"


def compare(f: Formatter, results: Sequence[Mapping[str, Any]], hints: Mapping[str, Any]) -> str:
    """Two or more places side by side on one metric."""
    ranged = bool(hints.get("span"))
    rows: list[tuple[str, float, Series]] = []
    for data in results:
        series = data["series"]
        key = "node" if data["filters"].get("node") else "location"
        for name, (value, items) in _by_place(series, key, None, ranged).items():
            rows.append((name, value, items[0]))
    if len(rows) < 2:
        return "Not enough data to compare: " + join([r[0] for r in rows] or ["nothing"]) + "."
    unit, metric = rows[0][2]["unit"], rows[0][2]["metric"]
    basis = f"average over {range_words(hints)}" if ranged else "latest readings"
    (a, va, _), (b, vb, _) = rows[0], rows[1]
    if abs(va - vb) < 1e-9:
        head = f"{a} and {b} read the same {label(metric)}: {f.value(va, unit, metric)}"
    else:
        more = {"temperature": "warmer", "soc_temp_c": "warmer", "humidity": "more humid"}.get(
            metric, "higher"
        )
        less = {"temperature": "colder", "soc_temp_c": "cooler", "humidity": "drier"}.get(
            metric, "lower"
        )
        word = more if va > vb else less
        head = (
            f"{a} is {word} than {b}: {f.value(va, unit, metric)} vs {f.value(vb, unit, metric)}, "
            f"a difference of {f.delta(va - vb, unit, metric)}"
        )
    lines = [f"{head} ({basis})."]
    for name, value, _ in rows[2:]:
        lines.append(f"{name}: {f.value(value, unit, metric)}")
    for data in results:
        for s in data["series"]:
            lines.append(f"- {place(s)}: {_latest(f, s)}")
    return "\n".join(lines)


def compare_time(
    f: Formatter, results: Sequence[Mapping[str, Any]], hints: Mapping[str, Any]
) -> str:
    """The same series over two periods, side by side."""
    periods = list(hints.get("periods") or ["now", "before"])
    now_data, then_data = results[0], results[1]
    before = {(s["node"], s["sensor"], s["metric"]): s for s in then_data["series"]}
    latest = periods[0] == "now"
    lines = [f"{_subject(now_data['filters'])}, {periods[0]} vs {periods[1]}:"]
    for s in now_data["series"]:
        old = before.get((s["node"], s["sensor"], s["metric"]))
        unit, metric = s["unit"], s["metric"]
        current = s.get("latest") if latest else s.get("mean") if s.get("count") else None
        if current is None or old is None or not old.get("count"):
            lines.append(f"- {place(s)}: not enough data in both periods to compare")
            continue
        diff = current - old["mean"]
        sign = "+" if diff >= 0 else "−"
        now_text = (
            f"{f.value(current, unit, metric)} {f.fresh(s.get('latest_ts'))}"
            if latest
            else f"avg {f.value(current, unit, metric)}"
        )
        lines.append(
            f"- {place(s)}: {now_text} vs avg {f.value(old['mean'], unit, metric)} "
            f"{periods[1]} ({sign}{f.delta(diff, unit, metric)})"
        )
    return "\n".join(lines)


def series(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """Each series' shape over the range: first and last, low and high, some points."""
    span_label = range_words(hints)
    lines = [f"{_subject(data['filters'])} over {span_label}:"]
    for s in data["series"]:
        points = s["points"]
        unit, metric = s["unit"], s["metric"]
        step_min = s["step"] // 60
        if s.get("count"):
            spread = (
                f"low {f.value(s['min'], unit, metric)}, high {f.value(s['max'], unit, metric)}, "
                f"avg {f.value(s['mean'], unit, metric)} over {span_label}{faults_note(f, s)}"
            )
        else:
            spread = f"no data in {span_label}"
        lines.append(
            f"- {place(s)}, {len(points)} points every {step_min} min: "
            f"{f.value(points[0]['mean'], unit, metric)} at {f.clock(points[0]['ts'])} → "
            f"{f.value(points[-1]['mean'], unit, metric)} at {f.clock(points[-1]['ts'])}; {spread}"
        )
        if s.get("latest") is not None:
            lines.append(f"  latest {_latest(f, s)}")
        shown = points[-12:]
        lines.append(
            "  "
            + ", ".join(f"{f.clock(p['ts'])} {f.value(p['mean'], unit, metric)}" for p in shown)
            + (f" (last {len(shown)} of {len(points)})" if len(points) > len(shown) else "")
        )
    return "\n".join(lines)
