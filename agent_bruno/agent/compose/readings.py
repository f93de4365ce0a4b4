"""Answers that set values side by side: rankings, comparisons between places and periods,
series over time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent_bruno.agent.compose.faults import faults_note
from agent_bruno.agent.compose.fmt import Formatter, join, label, over, place, plural, range_words
from agent_bruno.agent.compose.values import latest, subject
from agent_bruno.health import HEALTH_METRICS

Series = Mapping[str, Any]


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
    key = str(hints.get("by") or "location")
    ranged = bool(hints.get("span"))
    aggregate = hints.get("aggregate") if ranged else None
    groups = _by_place(series, key, aggregate, ranged)
    if not groups:
        return f"No {label(data['filters'].get('metric'))} values to rank."
    high = hints.get("order", "high") in ("high", "both")
    ordered = sorted(groups.items(), key=lambda kv: kv[1][0], reverse=high)
    unit, metric = series[0]["unit"], series[0]["metric"]
    basis = (
        f"{aggregate if aggregate else 'average'} {over(range_words(hints))}"
        if ranged
        else "latest readings"
    )
    top_name, (top_value, top_items) = ordered[0]
    word = {"high": "highest", "low": "lowest"}["high" if high else "low"]
    lines = [
        f"{top_name} has the {word} {label(metric)}: {f.value(top_value, unit, metric)} "
        f"({basis}; {join([_member(f, s, aggregate, ranged) for s in top_items])})."
    ]
    if hints.get("order") == "both" and len(ordered) > 1:
        low_name, (low_value, _) = ordered[-1]
        lines.append(f"{low_name} has the lowest: {f.value(low_value, unit, metric)}.")
    limit = hints.get("limit")
    shown = ordered[:limit] if isinstance(limit, int) and hints.get("order") != "both" else ordered
    cut = f" ({'top' if high else 'bottom'} {len(shown)} of {len(ordered)})"
    lines.append(f"Ranking{cut if len(shown) < len(ordered) else ''}:")
    for i, (name, (value, items)) in enumerate(shown, 1):
        stale = [s for s in items if f.stale(s.get("latest_ts"))]
        note = ""
        if stale and not ranged:
            note = f" (stale: no reading since {f.clock(stale[0]['latest_ts'])})"
        members = ""
        if len(items) > 1:
            members = (
                " ("
                + ", ".join(
                    f"{s['node']} {f.value(_value_for(s, aggregate, ranged), unit, metric)}"
                    for s in items
                )
                + ")"
            )
        lines.append(f"{i}. {name}: {f.value(value, unit, metric)}{members}{note}")
    if hints.get("clarify") == "soc":
        lines.append(
            "These are the rooms' temperatures at each node. Do you mean the Pis' own "
            'temperature? Ask "which Pi has the hottest SoC?" for that.'
        )
    return "\n".join(lines)


def _member(f: Formatter, s: Series, aggregate: str | None, ranged: bool) -> str:
    """One series inside a group: "pi-node-1 dht22-1 18.4 °C as of 14:20"."""
    value = _value_for(s, aggregate, ranged)
    text = f"{s['node']} {s['sensor']} {f.value(value, s['unit'], s['metric'])}"
    return text if ranged else f"{text} {f.fresh(s.get('latest_ts'))}"


def compare(f: Formatter, results: Sequence[Mapping[str, Any]], hints: Mapping[str, Any]) -> str:
    """Two or more places side by side, one metric at a time (never a mix of units)."""
    metrics: list[str] = []
    places_only = all(not d["filters"].get("node") and not d["filters"].get("metric")
                      for d in results)  # fmt: skip
    for data in results:
        for s in data["series"]:
            if places_only and s["metric"] in HEALTH_METRICS:
                continue  # two rooms compare on what is measured there, not on their Pis
            if s["metric"] not in metrics:
                metrics.append(s["metric"])
    blocks = []
    for metric in metrics:
        subset = [{**d, "series": [s for s in d["series"] if s["metric"] == metric]}
                  for d in results]  # fmt: skip
        if sum(1 for d in subset if d["series"]) >= 2:
            blocks.append(_compare_one(f, subset, hints, detail=len(metrics) == 1))
    if not blocks:
        names = [str(d["filters"].get("node") or d["filters"].get("location")) for d in results]
        return f"Not enough data to compare {join(names)}: they share no metric with data."
    return "\n".join(blocks)


def _compare_one(
    f: Formatter, results: Sequence[Mapping[str, Any]], hints: Mapping[str, Any], detail: bool
) -> str:
    """Places side by side on one metric."""
    ranged = bool(hints.get("span"))
    rows: list[tuple[str, float, Series]] = []
    for data in results:
        series = data["series"]
        key = "node" if data["filters"].get("node") else "location"
        for name, (value, items) in _by_place(series, key, None, ranged).items():
            rows.append((name, value, items[0]))
    if len(rows) < 2:
        return "Not enough data to compare: " + join([r[0] for r in rows] or ["nothing"]) + "."
    if hints.get("order") in ("high", "low"):  # "which is warmer?": the answer named first
        rows.sort(key=lambda r: r[1], reverse=hints["order"] == "high")
    unit, metric = rows[0][2]["unit"], rows[0][2]["metric"]
    basis = f"average {over(range_words(hints))}" if ranged else "latest readings"
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
        what = "" if metric in ("temperature", "humidity", "soc_temp_c") else f" in {label(metric)}"
        head = (
            f"{a} is {word}{what} than {b}: {f.value(va, unit, metric)} vs "
            f"{f.value(vb, unit, metric)}, a difference of {f.gap(va, vb, unit, metric)}"
        )
    lines = [f"{head} ({basis})."]
    for name, value, _ in rows[2:]:
        lines.append(f"{name}: {f.value(value, unit, metric)}")
    if detail:
        for data in results:
            for s in data["series"]:
                lines.append(f"- {place(s)}: {latest(f, s)}")
    return "\n".join(lines)


def compare_time(
    f: Formatter, results: Sequence[Mapping[str, Any]], hints: Mapping[str, Any]
) -> str:
    """The same series over two periods, side by side: both figures and the difference (and,
    when the asked period runs to now, the latest value beside its average)."""
    periods = list(hints.get("periods") or ["now", "before"])
    now_data, then_data = results[0], results[1]
    before = {(s["node"], s["sensor"], s["metric"]): s for s in then_data["series"]}
    latest = periods[0] == "now"
    span = hints.get("span") or {}
    to_now = bool(span) and float(span["end"]) >= f.now - 120.0
    filters = now_data["filters"]
    places_only = not filters.get("metric") and not filters.get("node")
    lines = [f"{subject(filters)}, {periods[0]} vs {periods[1]}:"]
    for s in now_data["series"]:
        if places_only and s["metric"] in HEALTH_METRICS:
            continue  # a room compares on what is measured there, not on its Pi
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
            else f"avg {f.value(current, unit, metric)} {periods[0]}"
        )
        if to_now and not latest and s.get("latest") is not None:
            now_text += f" (latest {f.value(s['latest'], unit, metric)} {f.fresh(s['latest_ts'])})"
        lines.append(
            f"- {place(s)}: {now_text} vs avg {f.value(old['mean'], unit, metric)} "
            f"{periods[1]} ({sign}{f.delta(diff, unit, metric)})"
        )
    return "\n".join(lines)


def series(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """Each series' shape over the range: first and last, low and high, some points."""
    span_label = range_words(hints)
    lines = [f"{subject(data['filters'])} {over(span_label)}:"]
    for s in data["series"]:
        points = s["points"]
        unit, metric = s["unit"], s["metric"]
        step_min = s["step"] // 60
        if s.get("count"):
            spread = (
                f"low {f.value(s['min'], unit, metric)}, high {f.value(s['max'], unit, metric)}, "
                f"avg {f.value(s['mean'], unit, metric)} {over(span_label)}"
                f"{faults_note(f, s)}{_trend(f, s)}"
            )
        else:
            spread = f"no data {over(span_label)}"
        lines.append(
            f"- {place(s)}, {plural(len(points), 'point')} every {step_min} min: "
            f"{f.value(points[0]['mean'], unit, metric)} at {f.clock(points[0]['ts'])} → "
            f"{f.value(points[-1]['mean'], unit, metric)} at {f.clock(points[-1]['ts'])}; {spread}"
        )
        if s.get("latest") is not None:
            lines.append(f"  latest {latest(f, s)}")
        shown = _spaced(points, SHOWN_POINTS)
        lines.append(
            "  "
            + ", ".join(f"{f.clock(p['ts'])} {f.value(p['mean'], unit, metric)}" for p in shown)
            + (
                f" ({len(shown)} of {len(points)}, evenly spaced)"
                if len(points) > len(shown)
                else ""
            )
        )
    return "\n".join(lines)


SHOWN_POINTS = 8


def _spaced(points: Sequence[Mapping[str, Any]], n: int) -> list[Mapping[str, Any]]:
    """`n` points spread evenly from the first to the last, so the shape of the whole range
    shows."""
    if len(points) <= n:
        return list(points)
    step = (len(points) - 1) / (n - 1)
    return [points[round(i * step)] for i in range(n)]


def _trend(f: Formatter, s: Series) -> str:
    """ "; rising by 2.1 °C", "; falling by …" or "; about steady" from first to last point."""
    points = s["points"]
    if len(points) < 2 or s.get("max") is None or s.get("min") is None:
        return ""
    change = points[-1]["mean"] - points[0]["mean"]
    spread = (s["max"] - s["min"]) or 1.0
    if abs(change) < 0.2 * spread:
        return "; about steady from start to end"
    word = "rising" if change > 0 else "falling"
    return f"; {word} by {f.delta(change, s['unit'], s['metric'])} from start to end"
