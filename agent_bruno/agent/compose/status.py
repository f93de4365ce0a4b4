"""Answers about state: anomalies, node health, counts, diagnosis, inventory, raw readings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent_bruno.agent.compose.fmt import Formatter, join, label, plural, range_words
from agent_bruno.health import HEALTH_METRICS

MAX_LISTED = 25


def _filters_text(filters: Mapping[str, Any]) -> str:
    parts = [f"{k} {v}" for k, v in filters.items() if v and k != "severity"]
    return f" ({', '.join(parts)})" if parts else ""


def _anomaly_line(f: Formatter, a: Mapping[str, Any]) -> str:
    value = (
        "no reading (dropout)"
        if a["value"] is None
        else f.value(a["value"], a["unit"], a["metric"])
    )
    reason = f": {a['reason']}" if a.get("reason") else ""
    return (
        f"- {f.clock(a['ts'])} {a['severity']}: {label(a['metric'])} {value} on {a['node']} "
        f"({a['location']}, {a['sensor']}){reason}"
    )


def anomalies(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """How many flagged readings, by severity, and the newest of them."""
    span_label = range_words(hints, "the last 24 hours")
    counts = data["counts"]
    total = int(data["total"])
    severity = data["filters"].get("severity")
    noun = f"{severity} anomal" if severity else "anomal"
    where = _filters_text(data["filters"])
    if total == 0:
        return f"No {noun}ies in {span_label}{where}."
    split = join([plural(counts[s], s) for s in ("critical", "warning") if counts.get(s)])
    head = f"{plural(total, 'anomaly', 'anomalies')} in {span_label}{where}"
    every = "the only one is" if total == 1 else "all"
    lines = [f"{head}: {split}." if not severity else f"{head}, {every} {severity}."]
    rows = data["anomalies"]
    for a in rows[:MAX_LISTED]:
        lines.append(_anomaly_line(f, a))
    if total > MAX_LISTED:
        lines.append(f"… and {total - min(len(rows), MAX_LISTED)} more not listed here.")
    return "\n".join(lines)


def _health_numbers(f: Formatter, health: Mapping[str, Any]) -> str:
    parts = []
    for key, unit in HEALTH_METRICS.items():
        value = health.get(key)
        if isinstance(value, int | float):
            parts.append(f"{label(key)} {f.value(value, unit, key)}")
    return ", ".join(parts)


def _node_line(f: Formatter, n: Mapping[str, Any]) -> str:
    seen = n.get("last_seen", n["last_heartbeat"])  # the agent's clock, not the reporter's
    if n["status"] == "offline":
        state = f"offline: last heartbeat {f.clock(seen)} ({f.age(seen)})"
    else:
        reasons = f" ({'; '.join(n['reasons'])})" if n["reasons"] else ""
        numbers = _health_numbers(f, n["health"])
        state = f"{n['status']}{reasons}; {numbers}" if numbers else f"{n['status']}{reasons}"
        state += f"; last heartbeat {f.clock(seen)} ({f.age(seen)})"
    if n.get("workloads"):
        names = [w if isinstance(w, str) else str(w.get("name")) for w in n["workloads"]]
        state += f"; runs {', '.join(names)}"
    return f"- {n['node']} ({n['location']}): {state}"


def health(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """Each node's status with its reasons and numbers."""
    nodes = data["nodes"]
    counts = data["counts"]
    if len(nodes) == 1:
        return _node_line(f, nodes[0])[2:]
    split = join([f"{counts[s]} {s}" for s in ("healthy", "warning", "offline") if counts[s]])
    lines = [f"{plural(len(nodes), 'node')}: {split}."]
    lines += [_node_line(f, n) for n in nodes]
    return "\n".join(lines)


def count_nodes(
    f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any], where: Mapping[str, Any]
) -> str:
    """How many nodes (at a location, if one was named), or how many in one status."""
    nodes = data["nodes"]
    if where.get("location"):
        nodes = [n for n in nodes if n["location"] == where["location"]]
        names = join([n["node"] for n in nodes])
        return f"There are {plural(len(nodes), 'node')} in {where['location']}: {names}."
    status = hints.get("status")
    if status:
        chosen = [
            n
            for n in nodes
            if n["status"] == status or (status == "online" and n["status"] != "offline")
        ]
        names = join([f"{n['node']} ({n['location']})" for n in chosen])
        verb = "is" if len(chosen) == 1 else "are"
        tail = f": {names}" if chosen else ""
        return f"{plural(len(chosen), 'node')} {verb} {status} out of {len(nodes)}{tail}."
    split = join([f"{data['counts'][s]} {s}" for s in ("healthy", "warning", "offline")
                  if data["counts"][s]])  # fmt: skip
    names = join([f"{n['node']} ({n['location']})" for n in nodes])
    return f"There are {plural(len(nodes), 'node')} ({split}): {names}."


def count_inventory(
    f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any], where: Mapping[str, Any]
) -> str:
    """How many sensors (physical ones; each node's own health is counted apart) or locations."""
    if hints.get("counting") == "locations":
        locations = list(data["locations"])
        return f"There are {plural(len(locations), 'location')}: {join(locations)}."
    nodes = data["sensors"]
    if where.get("node"):
        nodes = {n: s for n, s in nodes.items() if n == where["node"]}
    elif where.get("location"):
        nodes = {n: s for n, s in nodes.items() if data["nodes"].get(n) == where["location"]}
    metric = where.get("metric")
    if metric:
        nodes = {
            n: {s: m for s, m in sensors.items() if metric in m}
            for n, sensors in nodes.items()
            if any(metric in m for m in sensors.values())
        }
    physical = [(n, s) for n, sensors in sorted(nodes.items()) for s in sensors if s != "node"]
    scope = where.get("node") or where.get("location") or "the homelab"
    if metric:
        scope = f"{scope} measuring {label(metric)}"
    detail = "; ".join(
        f"{n}: {', '.join(s for s in sorted(sensors) if s != 'node')}"
        for n, sensors in sorted(nodes.items())
    )
    return (
        f"There are {plural(len(physical), 'sensor')} in {scope}, on {plural(len(nodes), 'node')}"
        f" ({detail}), plus each node's own health metrics."
    )


def inventory(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """What exists, for "what sensors are there" and for questions not understood."""
    lines = []
    if hints.get("help"):
        lines.append(
            "I did not recognise what to look up. I can answer about these locations, nodes and "
            'metrics, e.g. "What\'s the temperature in the warehouse?", "Show me sensor '
            'anomalies", "List all Pi nodes and their health status".'
        )
    lines.append(f"Locations: {join(list(data['locations']))}.")
    for loc, nodes in data["locations"].items():
        lines.append(f"- {loc}: {', '.join(nodes)}")
    metrics = [f"{m} ({u})" if u else m for m, u in data["metrics"].items()]
    lines.append(f"Metrics: {', '.join(metrics)}.")
    sensors = sorted({s for ss in data["sensors"].values() for s in ss})
    lines.append(f"Sensors: {', '.join(sensors)}.")
    return "\n".join(lines)


def diagnosis(
    f: Formatter, results: Mapping[str, Mapping[str, Any]], hints: Mapping[str, Any]
) -> str:
    """Why a node (or place) is in trouble: status and reasons, the numbers, workloads,
    anomalies, and the Forge model's analysis when it gave one."""
    lines: list[str] = []
    health_data = results.get("node_health")
    if health_data:
        for n in health_data["nodes"]:
            lines.append(_node_line(f, n)[2:] + ".")
    summary = results.get("metric_summary")
    if summary:
        parts = []
        asked = summary["filters"].get("metric")
        for s in summary["series"]:
            if asked and s.get("count"):
                parts.append(
                    f"{label(s['metric'])} on {s['node']} ({s['sensor']}) "
                    f"{f.value(s['latest'], s['unit'], s['metric'])} latest; "
                    f"avg {f.value(s['mean'], s['unit'], s['metric'])}, min "
                    f"{f.value(s['min'], s['unit'], s['metric'])}, max "
                    f"{f.value(s['max'], s['unit'], s['metric'])}"
                )
            elif not asked and s["metric"] in HEALTH_METRICS and s.get("count"):
                parts.append(
                    f"{label(s['metric'])} {f.value(s['latest'], s['unit'], s['metric'])} now "
                    f"(avg {f.value(s['mean'], s['unit'], s['metric'])}, max "
                    f"{f.value(s['max'], s['unit'], s['metric'])})"
                )
        if parts:
            lines.append(f"Over {range_words(hints, 'the last hour')}: {'; '.join(parts)}.")
    flagged = results.get("anomalies")
    if flagged is not None:
        total = int(flagged["total"])
        if total:
            lines.append(f"{plural(total, 'anomaly', 'anomalies')} in the last 24 hours, newest:")
            lines += [_anomaly_line(f, a) for a in flagged["anomalies"][:5]]
        else:
            lines.append("No anomalies were flagged in the last 24 hours.")
    forge = results.get("forge_analysis")
    if forge:
        lines.append(f"Analysis ({forge['model']}): {forge['analysis']}")
    return "\n".join(lines)


def overview(
    f: Formatter, nodes: Mapping[str, Any], flagged: Mapping[str, Any], hints: Mapping[str, Any]
) -> str:
    """ "Is anything wrong?": nodes not healthy, then the flagged readings."""
    troubled = [n for n in nodes["nodes"] if n["status"] != "healthy"]
    lines = []
    if troubled:
        lines.append(f"{plural(len(troubled), 'node')} of {len(nodes['nodes'])} need attention:")
        lines += [_node_line(f, n) for n in troubled]
    else:
        lines.append(f"All {plural(len(nodes['nodes']), 'node')} are healthy.")
    lines.append(anomalies(f, flagged, hints))
    return "\n".join(lines)


def raw(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """A reporter's raw readings: how many, the range, the newest few."""
    readings: Sequence[Mapping[str, Any]] = data["readings"]
    more = " (more exist; narrow the range)" if data.get("truncated") else ""
    lines = [
        f"{plural(len(readings), 'raw reading')} from {data['node']}'s reporter "
        f"({data['location']}) between {f.clock(data['start'])} and {f.clock(data['end'])}{more}; "
        "newest:"
    ]
    for r in readings[-10:]:
        lines.append(
            f"- {f.clock(r['ts'])} {r['sensor']} {label(r['metric'])} "
            f"{f.value(r['value'], r['unit'], r['metric'])}"
        )
    return "\n".join(lines)
