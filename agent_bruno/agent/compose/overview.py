"""Answers about what is wrong: the overview ("what's wrong?") and a diagnosis ("why is
pi-node-3 under high load?")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent_bruno.agent.compose.fmt import Formatter, join, label, over, plural, range_words
from agent_bruno.agent.compose.status import anomaly_line, episode_line, node_line
from agent_bruno.health import HEALTH_METRICS

LISTED = 8


def silent_sensors(
    f: Formatter, summary: Mapping[str, Any] | None, nodes: Mapping[str, Any] | None
) -> list[str]:
    """Series that stopped reporting while their node still sends heartbeats."""
    if not summary:
        return []
    offline = {n["node"] for n in (nodes or {}).get("nodes", []) if n["status"] == "offline"}
    out = []
    for s in summary["series"]:
        if s["node"] in offline or s.get("latest_ts") is None or not f.stale(s["latest_ts"]):
            continue
        out.append(
            f"{s['location']}, {s['node']} {s['sensor']} {label(s['metric'])}: no reading since "
            f"{f.clock(s['latest_ts'])} ({f.age(s['latest_ts'])})"
        )
    return out


def overview(
    f: Formatter,
    results: Mapping[str, Mapping[str, Any]],
    hints: Mapping[str, Any],
) -> str:
    """Everything that needs attention, most urgent first: nodes offline or in warning,
    flagged readings (criticals first), sensors gone silent; or that all is well."""
    nodes = results.get("node_health")
    flagged = results.get("anomalies")
    span_label = range_words(hints, "the last 24 hours")
    lines: list[str] = []
    troubled = [n for n in (nodes or {}).get("nodes", []) if n["status"] != "healthy"]
    total_nodes = len((nodes or {}).get("nodes", []))
    if troubled:
        verb = "needs" if len(troubled) == 1 else "need"
        lines.append(f"{plural(len(troubled), 'node')} of {total_nodes} {verb} attention:")
        lines += [node_line(f, n) for n in troubled]
    elif nodes:
        lines.append(
            f"All {plural(total_nodes, 'node')} are healthy."
            if total_nodes > 1
            else f"{nodes['nodes'][0]['node']} is healthy."
        )
    open_episodes = (results.get("anomaly_episodes") or {}).get("episodes", [])
    if open_episodes:
        lines.append(f"{plural(len(open_episodes), 'open anomaly episode')}:")
        lines += [episode_line(f, e) for e in open_episodes[:LISTED]]
    if flagged is not None:
        linked = {e["id"] for e in open_episodes}
        flagged = {
            **flagged,
            "anomalies": [a for a in flagged["anomalies"] if a.get("episode_id") not in linked],
        }
        total = int(flagged["total"])
        if total:
            counts = flagged["counts"]
            split = join([plural(counts[s], s) for s in ("critical", "warning") if counts.get(s)])
            lines.append(
                f"{plural(total, 'anomaly', 'anomalies')} flagged {over(span_label)} ({split}):"
            )
            rows = sorted(
                flagged["anomalies"], key=lambda a: (a["severity"] != "critical", -a["ts"])
            )
            lines += [anomaly_line(f, a) for a in rows[:LISTED]]
            if total > LISTED:
                lines.append(f"… and {total - LISTED} more; ask for the anomalies to see them all.")
        else:
            lines.append(f"No anomalies flagged {over(span_label)}.")
    silent = silent_sensors(f, results.get("metric_summary"), nodes)
    if silent:
        lines.append(f"{plural(len(silent), 'sensor')} gone silent while the node reports:")
        lines += [f"- {s}" for s in silent[:LISTED]]
    if troubled or (flagged and flagged["total"]) or silent or open_episodes:
        return "\n".join(lines)
    return "Nothing is wrong: " + " ".join(lines)


def diagnosis(
    f: Formatter, results: Mapping[str, Mapping[str, Any]], hints: Mapping[str, Any]
) -> str:
    """Why a node (or place) is in trouble: status and reasons, the numbers, workloads,
    anomalies, and the Forge model's analysis when it gave one."""
    lines: list[str] = []
    health_data = results.get("node_health")
    shown = None
    if health_data:
        nodes = health_data["nodes"]
        troubled = [n for n in nodes if n["status"] != "healthy"]
        if len(nodes) > 1 and troubled:  # "why?" about many nodes: explain the ones in trouble
            nodes = troubled
            shown = {n["node"] for n in nodes}
        for n in nodes:
            lines.append(node_line(f, n)[2:] + ".")
    summary = results.get("metric_summary")
    if summary:
        parts = []
        asked = summary["filters"].get("metric")
        for s in summary["series"]:
            if not s.get("count") or s.get("latest") is None:
                continue
            if shown is not None and s["node"] not in shown:
                continue
            unit, metric = s["unit"], s["metric"]
            if asked:
                parts.append(
                    f"{label(metric)} on {s['node']} ({s['sensor']}) "
                    f"{f.value(s['latest'], unit, metric)} latest; "
                    f"avg {f.value(s['mean'], unit, metric)}, min {f.value(s['min'], unit, metric)}"
                    f", max {f.value(s['max'], unit, metric)}"
                )
            elif metric in HEALTH_METRICS:
                parts.append(
                    f"{label(metric)} {f.value(s['latest'], unit, metric)} now "
                    f"(avg {f.value(s['mean'], unit, metric)}, "
                    f"max {f.value(s['max'], unit, metric)})"
                )
        if parts:
            lines.append(f"{over(range_words(hints)).capitalize()}: {'; '.join(parts)}.")
    found = results.get("anomaly_episodes") or {}
    if found.get("total"):
        lines.append(f"{plural(int(found['total']), 'anomaly episode')}, open ones first:")
        lines += [episode_line(f, e) for e in found["episodes"][:5]]
    flagged = results.get("anomalies")
    if flagged is not None:
        total = int(flagged["total"])
        span_label = range_words(hints, "the last 24 hours")
        if total:
            lines.append(f"{plural(total, 'anomaly', 'anomalies')} {over(span_label)}, newest:")
            lines += [anomaly_line(f, a) for a in flagged["anomalies"][:5]]
        else:
            lines.append(f"No anomalies were flagged {over(span_label)}.")
    forge = results.get("forge_analysis")
    if forge:
        lines.append(f"Analysis ({forge['model']}): {forge['analysis']}")
    return "\n".join(lines)
