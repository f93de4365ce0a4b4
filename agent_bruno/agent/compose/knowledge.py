"""Answers from the knowledge graph: what runs where, what happened before, why a node is
loaded, and what was recorded. Every figure is quoted with where and when it was seen; a likely
cause is offered as likely, never as fact."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agent_bruno.agent.compose.fmt import Formatter, label, plural

Row = Mapping[str, Any]
HIGH_SHARE = 0.5  # a workload using half the node's CPU or more dominates it


def _pct(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.0f} %"


def _workload(w: Row) -> str:
    where = f" ({w['namespace']})" if w.get("namespace") else ""
    cpu = w.get("cpu_percent")
    parts = ["CPU not reported" if cpu is None else f"{cpu:.0f} % CPU"]
    if w.get("memory_mib") is not None:
        parts.append(f"{w['memory_mib']:.0f} MiB")
    if w.get("cpu_request_m") is not None:
        parts.append(f"requests {w['cpu_request_m']:.0f}m CPU")
    return f"{w['name']}{where}: {', '.join(parts)}"


def workloads(f: Formatter, data: Row) -> str:
    """What runs on a node, busiest first, and how fresh that is; when no workload reports
    its CPU, the names (nothing to order by), and that the CPU is not reported."""
    items: Sequence[Row] = data["workloads"]
    seen = max((w["last_seen"] for w in items if w.get("last_seen")), default=None)
    runs = f"{data['node']} ({data['location']}) runs {plural(len(items), 'workload')}"
    if items and all(w.get("cpu_percent") is None for w in items):
        named = ", ".join(
            w["name"] + (f" ({w['namespace']})" if w.get("namespace") else "") for w in items
        )
        return f"{runs} ({f.fresh(seen)}): {named}. None of them reports its CPU use."
    head = f"{runs}, busiest first ({f.fresh(seen)}):"
    return "\n".join([head, *(f"- {_workload(w)}" for w in items)])


def _episode(f: Formatter, e: Row) -> str:
    """One episode in a line: what, where, when, how big."""
    sigma = e.get("peak_sigma")
    size = f", {abs(sigma):.1f}σ {'above' if sigma > 0 else 'below'} normal" if sigma else ""
    peak = (
        f", peak {f.value(e['peak_value'], e['unit'], e['metric'])}"
        if e.get("peak_value") is not None
        else ""
    )
    state = f"until {f.clock(e['ended'])}" if e.get("ended") is not None else "still open"
    kind = "sensor fault" if e.get("kind") == "sensor_fault" else str(e.get("rule") or "anomaly")
    return (
        f"{label(e['metric'])} {kind.replace('_', ' ')} on {e['node']} ({e['sensor']}) from "
        f"{f.clock(e['started'])} {state}{peak}{size}"
    )


def _causes(incident: Row) -> str:
    """An incident's root causes, with how many incidents each explains."""
    out = []
    for c in incident.get("root_causes", []):
        text = c["description"]
        if c.get("resolution"):
            text += f" (resolved by: {c['resolution']})"
        if int(c.get("incidents") or 1) > 1:
            text += f", seen in {c['incidents']} incidents"
        out.append(text)
    return "; ".join(out) or "no root cause recorded"


def _incident(f: Formatter, i: Row) -> str:
    status = "resolved" if i.get("status") == "resolved" else "open"
    who = f", recorded by {i['created_by']}" if i.get("created_by") else ""
    return f"{f.clock(i['started'])}: {i['title']} ({status}{who}). Cause: {_causes(i)}."


def history(f: Formatter, data: Row) -> str:
    """A place's past incidents with their causes and its episodes, newest first."""
    where = data.get("location") or "anywhere"
    incidents: Sequence[Row] = data.get("incidents", [])
    linked = {e["id"] for i in incidents for e in i.get("episodes", [])}
    others = [e for e in data.get("episodes", []) if e["id"] not in linked]
    if not incidents and not others:
        return f"Nothing is on record for {where}: no incidents and no anomaly episodes."
    lines = []
    if incidents:
        lines.append(f"{plural(len(incidents), 'incident')} on record for {where}, newest first:")
        for i in incidents:
            lines.append(f"- {_incident(f, i)}")
            lines += [f"  - {_episode(f, e)}" for e in i.get("episodes", [])[:3]]
    else:
        lines.append(f"No incidents are recorded for {where}.")
    if others:
        lines.append(
            f"{plural(len(others), 'anomaly episode')} there with no incident recorded, newest:"
        )
        lines += [f"- {_episode(f, e)}" for e in others[:5]]
    return "\n".join(lines)


def similar(f: Formatter, data: Row) -> str:
    """Past incidents like an episode, as likely explanations with their evidence."""
    found: Sequence[Row] = data.get("similar", [])
    if not found:
        return ""
    lines = ["Past incidents that looked like this (likely explanations, not confirmed):"]
    for s in found:
        reasons = ", ".join(s.get("resembles", [])) or "a similar shape"
        lines.append(
            f"- {f.clock(s['started'])} {s['title']}: similarity {s['similarity']:.2f} "
            f"({reasons}). Cause then: {_causes(s)}."
        )
    return "\n".join(lines)


def _recommendations(found: Sequence[Row]) -> list[str]:
    seen: list[str] = []
    for s in found:
        for c in s.get("root_causes", []):
            rec = c.get("recommendation")
            if rec and rec not in seen:
                seen.append(rec)
    return seen


def _dominant(items: Sequence[Row], cpu: float | None) -> list[str]:
    """The workload that dominates (or is the busiest on) a node, with the others' use."""
    busy = [w for w in items if w.get("cpu_percent") is not None]
    if busy:
        top = busy[0]
        share = top["cpu_percent"] / cpu if cpu else 0.0
        verb = "dominates it" if share >= HIGH_SHARE else "is the busiest"
        return [
            f"{top['name']}{' (' + top['namespace'] + ')' if top.get('namespace') else ''} {verb}"
            f" with {_pct(top['cpu_percent'])} of the node's CPU"
            + (f" ({share:.0%} of what is in use)" if share else "")
            + "; others: "
            + (", ".join(_workload(w) for w in busy[1:4]) or "none")
            + "."
        ]
    if items:
        return ["It runs " + ", ".join(w["name"] for w in items) + ", none reporting its CPU use."]
    return []


def explain(f: Formatter, context: Row | None, past: Row | None, cpu: float | None) -> list[str]:
    """What the graph adds to a "why": the workload that dominates a node, past incidents like
    the newest episode (likely explanations, with how similar), else the place's past
    incidents with their causes, and what was recommended then."""
    context = context or {}
    lines = _dominant(context.get("workloads", []), cpu) if context.get("kind") == "node" else []
    found = (past or {}).get("similar", [])
    incidents = [i for i in context.get("incidents", []) if i.get("root_causes")]
    if found:
        lines.append(similar(f, past or {}))
    elif incidents:
        where = context.get("location") or "there"
        lines.append(f"Past incidents at {where} (newest first):")
        lines += [f"- {_incident(f, i)}" for i in incidents[:3]]
    recs = _recommendations(found or incidents)
    busy = [w for w in context.get("workloads", []) if w.get("cpu_percent") is not None]
    if recs:
        lines.append("Recommended before: " + " / ".join(recs) + ".")
    elif busy and cpu and busy[0]["cpu_percent"] / cpu >= HIGH_SHARE:
        lines.append(
            f"Nothing recorded says what to do; consider limiting {busy[0]['name']} or moving it "
            "to a node with spare capacity."
        )
    return lines


def load(
    f: Formatter,
    node: Row | None,
    context: Row | None,
    past: Row | None,
    threshold_percent: float,
) -> str:
    """Why a node is under load (or that it is not): its numbers, the workload that dominates,
    past incidents like it and what they recommend."""
    if node is None:
        return "I have no heartbeat of that node, so I cannot say how loaded it is."
    health = node.get("health", {})
    cpu, load_1m = health.get("cpu_percent"), health.get("load_1m")
    numbers = f"CPU {_pct(cpu)}, load {load_1m if load_1m is not None else 'unknown'}"
    fresh = f.fresh(node.get("last_heartbeat"))
    if cpu is None:
        return f"{node['node']} reports no CPU figure ({fresh}), so I cannot judge its load."
    if cpu < threshold_percent:
        return (
            f"{node['node']} is not under high load: {numbers} ({fresh}); the warning "
            f"threshold is {threshold_percent:.0f} % CPU."
        )
    lines = [f"{node['node']} ({node['location']}) is under high load: {numbers} ({fresh})."]
    explained = explain(f, {"kind": "node", **(context or {})}, past, cpu)
    if not (context or {}).get("workloads"):
        explained.insert(
            0, "The graph knows no workloads on it, so I cannot say what uses the CPU."
        )
    return "\n".join(lines + explained)


def not_loaded(f: Formatter, node: Row) -> str | None:
    """The false premise of "why is it under high load?": the node's CPU is below its warning
    threshold (no CPU reason in its status). None when it is loaded or says no CPU."""
    cpu = node.get("health", {}).get("cpu_percent")
    if cpu is None or node.get("status") == "offline":
        return None
    if any(r.startswith("CPU ") for r in node.get("reasons", [])):
        return None
    load_1m = node["health"].get("load_1m")
    return (
        f"{node['node']} is not under high load: CPU {_pct(cpu)}, load "
        f"{load_1m if load_1m is not None else 'unknown'} "
        f"({f.fresh(node.get('last_heartbeat'))}), below its warning threshold."
    )


def recorded(f: Formatter, data: Row) -> str:
    """What was recorded and linked, so the person can check it."""
    i = data["recorded"]
    return _echo(f, "Recorded", i) + ' Say "no, it was …" to correct it.'


def corrected(f: Formatter, data: Row) -> str:
    """The incident as it stands after a correction, and what it was before."""
    return _echo(f, "Corrected", data["corrected"]) + f" (was: {_causes(data['was'])})."


def _echo(f: Formatter, verb: str, i: Row) -> str:
    eps: Sequence[Row] = i.get("episodes", [])
    linked = (
        f" Linked {plural(len(eps), 'episode')}: " + "; ".join(_episode(f, e) for e in eps) + "."
        if eps
        else " No anomaly episode was found there around that time to link."
    )
    status = "resolved" if i.get("status") == "resolved" else "open"
    return (
        f"{verb} incident {i['id']} at {i['location']}, {f.clock(i['started'])}: root cause "
        f"{_causes(i)} ({status}).{linked}"
    )
