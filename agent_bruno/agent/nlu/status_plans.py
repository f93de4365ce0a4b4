"""Plan builders for what is wrong and how much there is: flagged readings, node health and
workloads, the overview, a diagnosis, and counts."""

from __future__ import annotations

import re
from typing import Any

from agent_bruno.agent.nlu.intents import IntentSpec
from agent_bruno.agent.nlu.knowledge_plans import graph_calls
from agent_bruno.agent.nlu.lexicon import lexicon
from agent_bruno.agent.nlu.plan import Plan, PlannedCall
from agent_bruno.agent.nlu.request import DAY, MAX_FAN_OUT, Request
from agent_bruno.agent.nlu.value_plans import rank, readings
from agent_bruno.health import HEALTH_METRICS

OVERVIEW_WINDOW_S = DAY


def anomalies(r: Request, spec: IntentSpec) -> Plan:
    """Flagged readings with the question's filters (one call per place when it names several)."""
    base: dict[str, Any] = {**({"metric": r.metric} if r.metric else {}), **r.window()}
    if r.severity:
        base["severity"] = r.severity
    places: list[dict[str, str]] = [r.where()]
    if len(r.nodes) > 1:
        places = [{"node": n} for n in r.nodes[:MAX_FAN_OUT]]
    elif len(r.locations) > 1 and not r.nodes:
        places = [{"location": loc} for loc in r.locations[:MAX_FAN_OUT]]
    calls = [PlannedCall("anomalies", {**place, **base}) for place in places]
    if len(places) == 1:
        calls.append(PlannedCall("anomaly_episodes", {**places[0], **base}))
    return Plan(
        "anomalies", tuple(calls), {}, r.hints(severity=r.severity, fan_out=len(places) > 1)
    )


def status_filter(r: Request) -> str | None:
    """The node status a question filters on, if any ("which nodes are offline")."""
    if r.nodes:
        return None
    return (
        r.status
        if r.status in ("offline", "online", "unhealthy", "critical", "warning", "healthy")
        else None
    )


def health(r: Request, spec: IntentSpec) -> Plan:
    """Node status: one node, the nodes of a location, or all (filtered by status); a named
    metric without a status ("how's the disk on all the pis") is that metric's values."""
    if r.metrics and not status_filter(r) and not r.nodes:
        return rank(r, spec) if not r.locations else readings("current", "metric_summary")(r, spec)
    args = (
        {"node": r.nodes[0]} if r.nodes else ({"location": r.locations[0]} if r.locations else {})
    )
    calls = [PlannedCall("node_health", args)]
    if len(r.nodes) > 1:
        calls = [PlannedCall("node_health", {"node": n}) for n in r.nodes[:MAX_FAN_OUT]]
    hints = r.hints(status=status_filter(r), fan_out=len(calls) > 1)
    return Plan("health", tuple(calls), {}, hints)


def workloads(r: Request, spec: IntentSpec) -> Plan:
    """What runs where, from the nodes' heartbeats; for one node, the graph's workloads with
    their CPU and memory too."""
    args = (
        {"node": r.nodes[0]} if r.nodes else ({"location": r.locations[0]} if r.locations else {})
    )
    calls = [PlannedCall("node_health", args)]
    if len(r.nodes) == 1:
        calls.append(PlannedCall("workloads", {"node": r.nodes[0]}))
    return Plan("workloads", tuple(calls), {}, r.hints())


def overview(r: Request, spec: IntentSpec) -> Plan:
    """What is wrong: nodes not healthy, flagged readings, sensors gone silent."""
    place = r.where(sensor=False)
    health_args = dict(place)
    window = r.window(OVERVIEW_WINDOW_S)
    calls = (
        PlannedCall("node_health", health_args),
        PlannedCall("anomaly_episodes", {**place, "state": "open"}),
        PlannedCall("anomalies", {**place, **window}),
        PlannedCall("metric_summary", dict(place)),
    )
    return Plan("overview", calls, {}, r.hints())


def diagnosis(r: Request, spec: IntentSpec) -> Plan:
    """Why: the node's health (or the location's nodes'), its numbers, anomalies, Forge."""
    where = r.where()
    target = (
        {"node": r.nodes[0]} if r.nodes else ({"location": r.locations[0]} if r.locations else {})
    )
    metric = {} if r.metric in HEALTH_METRICS or r.metric is None else {"metric": r.metric}
    calls = [
        PlannedCall("node_health", target),
        # A health metric ("high load") is read with its siblings: causes show across them.
        PlannedCall("metric_summary", {**where, **metric, **r.window()}),
        PlannedCall(
            "anomalies",
            {**where, **r.window(DAY), **({"severity": r.severity} if r.severity else {})},
        ),
        PlannedCall("anomaly_episodes", {**where, **r.window(DAY)}),
    ]
    calls += graph_calls(r)  # what runs there, past incidents like it and their causes
    if r.forge:
        calls.append(PlannedCall("forge_analysis", {"question": r.text, **where}))
    return Plan("diagnosis", tuple(calls), {}, r.hints(asked_metric=r.metric))


COUNTABLE = ("episodes", "readings", "anomalies", "sensors", "locations", "metrics", "nodes")


_COUNT_CUE = re.compile(
    r"(?<![\w-])(?:how\s+many|number\s+of|count(?:\s+of)?(?:\s+the)?|total(?:\s+number\s+of)?"
    r"|how\s+often)\s+(?:(?:different|distinct|separate|individual|other|more|kinds?\s+of"
    r"|types?\s+of)\s+)?(?P<noun>[\w-]+(?:\s+[\w-]+)?)",
    re.I,
)


def counted_right_after_cue(text: str) -> set[str]:
    """What each "how many …" counts: the countable word right after it ("how many readings
    has the co2 sensor sent" counts readings, not sensors)."""
    out = set()
    for m in _COUNT_CUE.finditer(text):
        for name, pattern in lexicon().counting:
            if pattern.match(m.group("noun")) or pattern.match(m.group("noun").split()[-1]):
                out.add(name)
                break
    return out


def count(r: Request, spec: IntentSpec) -> Plan:
    """How many of each thing counted (several when the question lists several)."""
    subjects = [c for c in r.counting if c in COUNTABLE] or ["nodes"]
    asked = counted_right_after_cue(r.text)
    if asked:
        subjects = [s for s in subjects if s in asked] or subjects
    if "anomalies" in subjects and "readings" in subjects:
        subjects.remove("readings")  # "flagged readings" are anomalies
    if "episodes" in subjects and "anomalies" in subjects:
        subjects.remove("anomalies")  # "anomaly episodes" are episodes
    if (
        "nodes" in subjects
        and len(subjects) > 1
        and not re.search(r"(?<![\w-])how many (?:pi\s+)?(?:nodes|pis)\b", r.text, re.I)
    ):
        subjects.remove("nodes")  # "sensors on the nodes": the nodes only say where
    calls: list[PlannedCall] = []
    parts: list[list[Any]] = []
    for subject in dict.fromkeys(subjects):
        if subject == "readings":
            call = PlannedCall(
                "metric_summary",
                {**({"metric": r.metric} if r.metric else {}), **r.where(), **r.window()},
            )
        elif subject == "anomalies":
            args: dict[str, Any] = {
                **r.where(),
                **({"metric": r.metric} if r.metric else {}),
                **r.window(DAY),
            }
            if r.severity:
                args["severity"] = r.severity
            call = PlannedCall("anomalies", args)
        elif subject == "episodes":
            episode_args: dict[str, Any] = {**r.where(), **r.window(DAY)}
            if r.severity:
                episode_args["severity"] = r.severity
            if re.search(r"(?<![\w-])(?:open|ongoing|active|current)(?![\w-])", r.text, re.I):
                episode_args["state"] = "open"
            call = PlannedCall("anomaly_episodes", episode_args)
        elif subject == "nodes":
            call = PlannedCall("node_health", {})
        else:
            call = PlannedCall("inventory", {})
        parts.append([subject, len(calls)])
        calls.append(call)
    hints = r.hints(
        counting=[p[0] for p in parts],
        severity=r.severity,
        status=status_filter(r),
        filters={"metric": r.metric, **r.where()},
    )
    return Plan("count", tuple(calls), {"counting": [p[0] for p in parts]}, hints)
