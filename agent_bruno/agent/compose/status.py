"""Answers about state: anomalies, node health and workloads, inventory and units, raw
readings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent_bruno.agent.compose.fmt import Formatter, join, label, over, plural, range_words
from agent_bruno.health import HEALTH_METRICS

MAX_LISTED = 25


def _filters_text(filters: Mapping[str, Any]) -> str:
    parts = [f"{k} {v}" for k, v in filters.items() if v and k not in ("severity", "state")]
    return f" ({', '.join(parts)})" if parts else ""


def anomaly_line(f: Formatter, a: Mapping[str, Any]) -> str:
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
        return f"No {noun}ies {over(span_label)}{where}."
    split = join([plural(counts[s], s) for s in ("critical", "warning") if counts.get(s)])
    head = f"{plural(total, 'anomaly', 'anomalies')} {over(span_label)}{where}"
    every = "the only one is" if total == 1 else "all"
    lines = [f"{head}: {split}." if not severity else f"{head}, {every} {severity}."]
    rows = data["anomalies"]
    for a in rows[:MAX_LISTED]:
        lines.append(anomaly_line(f, a))
    if total > MAX_LISTED:
        lines.append(f"… and {total - min(len(rows), MAX_LISTED)} more not listed here.")
    return "\n".join(lines)


KIND_WORDS = {"sensor_fault": "sensor fault", "process_anomaly": "unusual values"}


def episode_line(f: Formatter, e: Mapping[str, Any]) -> str:
    """One episode: when, how bad, what kind, where, its peak and why."""
    when = (
        f"open since {f.clock(e['start'])}"
        if e.get("open")
        else f"{f.clock(e['start'])}–{f.clock(e['end'])}"
    )
    peak = ""
    if e.get("peak_value") is not None:
        value = f.value(e["peak_value"], e["unit"], e["metric"])
        peak = f", peak {value}" + (f" at {f.clock(e['peak_ts'])}" if e.get("peak_ts") else "")
    kind = KIND_WORDS.get(str(e.get("kind")), str(e.get("kind")))
    flagged = plural(int(e.get("count") or 0), "flagged reading")
    reason = f": {e['reason']}" if e.get("reason") else ""
    return (
        f"- {when} {e['severity']} {kind} ({e['rule']}): {label(e['metric'])} on {e['node']} "
        f"({e['location']}, {e['sensor']}){peak}, {flagged}{reason}"
    )


def episodes(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """Anomaly episodes of the range, open ones first."""
    span_label = range_words(hints, "the last 24 hours")
    total = int(data["total"])
    state = data["filters"].get("state")
    noun = "open anomaly episode" if state == "open" else "anomaly episode"
    if total == 0:
        return f"No {noun}s {over(span_label)}{_filters_text(data['filters'])}."
    rows = data["episodes"]
    still = sum(1 for e in rows if e.get("open"))
    head = f"{plural(total, noun)} {over(span_label)}{_filters_text(data['filters'])}"
    if state != "open":
        head += f" ({still} open)"
    lines = [f"{head}:", *(episode_line(f, e) for e in rows[:MAX_LISTED])]
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


def node_line(f: Formatter, n: Mapping[str, Any]) -> str:
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


STATUS_WORDS = {
    "offline": "offline",
    "online": "online",
    "unhealthy": "not healthy",
    "critical": "not healthy",
    "warning": "in warning",
    "healthy": "healthy",
}


def _matches(status: str, node_status: str) -> bool:
    if status == "online":
        return node_status != "offline"
    if status in ("unhealthy", "critical"):
        return node_status != "healthy"
    return node_status == status


# Said before the answer to a status no node can have: "which nodes are critical".
NO_SUCH_STATUS = {
    "critical": "No node status is called critical (a node is healthy, in warning or offline); ",
}


def health(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """Each node's status with its reasons and numbers; with a status filter ("which nodes are
    offline"), only the matching nodes, and the others counted."""
    status = hints.get("status")
    lead = NO_SUCH_STATUS.get(str(status))
    if lead and len(data["nodes"]) > 1:
        text = _filtered(f, data, str(status))
        return lead + text[0].lower() + text[1:]
    return _filtered(f, data, status)


def _filtered(f: Formatter, data: Mapping[str, Any], status: Any) -> str:
    nodes = data["nodes"]
    counts = data["counts"]
    if status in STATUS_WORDS and len(nodes) > 1:
        chosen = [n for n in nodes if _matches(status, n["status"])]
        rest = len(nodes) - len(chosen)
        others = join([f"{v} {k}" for k, v in counts.items() if v and not _matches(status, k)])
        if not chosen:
            return (
                f"No node is {STATUS_WORDS[status]}: all {plural(len(nodes), 'node')} are "
                f"{join([f'{v} {k}' for k, v in counts.items() if v])}."
            )
        verb = "is" if len(chosen) == 1 else "are"
        head = f"{plural(len(chosen), 'node')} of {len(nodes)} {verb} {STATUS_WORDS[status]}"
        if status in ("healthy", "online"):  # the exceptions are what the asker looks for
            lines = [f"{head}: {join([n['node'] for n in chosen])}."]
            if rest:
                lines.append(f"Not {STATUS_WORDS[status]} ({others}):")
                lines += [node_line(f, n) for n in nodes if not _matches(status, n["status"])]
            return "\n".join(lines)
        lines = [f"{head}:"]
        lines += [node_line(f, n) for n in chosen]
        if rest:
            lines.append(f"The other {plural(rest, 'node')}: {others}.")
        return "\n".join(lines)
    if len(nodes) == 1:
        return node_line(f, nodes[0])[2:]
    split = join([f"{counts[s]} {s}" for s in ("healthy", "warning", "offline") if counts[s]])
    lines = [f"{plural(len(nodes), 'node')}: {split}."]
    lines += [node_line(f, n) for n in nodes]
    return "\n".join(lines)


def workloads(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """What runs on each node; for "which node runs X", the nodes running it."""
    nodes = data["nodes"]
    question = str(hints.get("question", "")).lower()
    running = {w for n in nodes for w in n.get("workloads") or []}
    asked = [w for w in sorted(running) if w.lower() in question]
    if asked and not (len(nodes) == 1 and nodes[0]["node"].lower() in question):
        lines = []
        for w in asked:
            hosts = [f"{n['node']} ({n['location']}, {n['status']})" for n in nodes
                     if w in (n.get("workloads") or [])]  # fmt: skip
            lines.append(f"{w} runs on {plural(len(hosts), 'node')}: {join(hosts)}.")
        return "\n".join(lines)
    lines = []
    for n in nodes:
        names = ", ".join(n.get("workloads") or []) or "no workloads reported"
        seen = n.get("last_seen", n["last_heartbeat"])
        state = n["status"] if n["status"] != "offline" else f"offline since {f.clock(seen)}"
        lines.append(f"- {n['node']} ({n['location']}, {state}): {names}")
    note = ""
    if any(n["status"] == "offline" for n in nodes):
        note = "\n(An offline node's workloads are as it last reported them.)"
    if len(lines) == 1:
        return f"{lines[0][2:]}.{note}"
    return "Workloads by node (from their heartbeats):\n" + "\n".join(lines) + note


def inventory(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """What exists (at the place, or measuring the metric, the question named), for "what
    sensors are there" and for questions not understood."""
    lines = []
    if hints.get("help") == "unrecognised":
        lines.append(
            "I did not recognise what to look up. I can answer about these locations, nodes and "
            'metrics, e.g. "What\'s the temperature in the warehouse?", "Show me sensor '
            'anomalies", "List all Pi nodes and their health status".'
        )
    elif hints.get("help"):
        lines.append(
            "I answer questions about this homelab's sensors and nodes: current values, "
            "statistics and trends over any time range, rankings and comparisons, anomalies, "
            "node health, what is wrong and why, and counts. For example: \"What's the "
            'temperature in the warehouse?", "Which nodes are offline?", "Why is pi-node-3 '
            'under high load?". What exists:'
        )
    where = hints.get("filters") or {}
    located: Mapping[str, str] = data["nodes"]
    sensors: Mapping[str, Mapping[str, list[str]]] = data["sensors"]
    nodes = [
        n for n in sorted(sensors)
        if (not where.get("node") or n == where["node"])
        and (not where.get("location") or located.get(n) == where["location"])
    ]  # fmt: skip
    metric = where.get("metric")
    if where.get("node") or where.get("location") or metric:
        scope = where.get("node") or where.get("location") or "the homelab"
        lines.append(f"Sensors in {scope}" + (f" measuring {label(metric)}:" if metric else ":"))
        for n in nodes:
            found = [
                f"{s} ({', '.join(m)})"
                for s, m in sorted(sensors[n].items())
                if s != "node" and (not metric or metric in m)
            ]
            if found:
                lines.append(f"- {n} ({located.get(n, '?')}): {', '.join(found)}")
        if len(lines) == 1 + bool(hints.get("help")):
            lines.append("- none")
        if not metric:
            lines.append(
                "Each node also reports its own CPU, memory, disk, load and SoC temperature."
            )
        return "\n".join(lines)
    lines.append(f"Locations: {join(list(data['locations']))}.")
    for loc, names in data["locations"].items():
        lines.append(f"- {loc}: {', '.join(names)}")
    metrics = [f"{m} ({u})" if u else m for m, u in data["metrics"].items()]
    lines.append(f"Metrics: {', '.join(metrics)}.")
    kinds = sorted({s for ss in data["sensors"].values() for s in ss})
    lines.append(f"Sensors: {', '.join(kinds)}.")
    return "\n".join(lines)


def unit_info(f: Formatter, data: Mapping[str, Any], hints: Mapping[str, Any]) -> str:
    """The unit each asked metric is stored in (all metrics when none was named)."""
    units: Mapping[str, str] = data["metrics"]
    asked = [m for m in hints.get("metrics") or [] if m in units] or list(units)
    parts = []
    for metric in asked:
        unit = units[metric]
        if unit == "count":
            parts.append(f"{label(metric)} is a count of detections per reading (unit 'count')")
        elif not unit:
            parts.append(f"{label(metric)} has no unit (a plain number)")
        else:
            parts.append(f"{label(metric)} is in {unit}")
    missing = [m for m in hints.get("metrics") or [] if m not in units]
    text = "; ".join(parts) + "."
    if missing:
        text += f" Nothing stored measures {join([label(m) for m in missing])}."
    return text[0].upper() + text[1:]


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
