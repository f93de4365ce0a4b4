"""The wording of the knowledge graph's answers: what dominates a node, past incidents as
likely explanations, what was recommended, and what was recorded or corrected."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent_bruno.agent.compose import WRITERS, compose, knowledge
from agent_bruno.agent.compose.fmt import Formatter
from agent_bruno.agent.nlu.plan import Plan
from agent_bruno.agent.tools.base import ToolCallRecord, ToolResult

NOW = datetime(2026, 11, 26, 14, 20, tzinfo=UTC).timestamp()
TZ = ZoneInfo("UTC")


def fmt(unit: str | None = None) -> Formatter:
    return Formatter(NOW, TZ, unit)


def work(name: str, cpu: float | None, **extra: Any) -> dict[str, Any]:
    return {"name": name, "cpu_percent": cpu, **extra}


def test_a_workload_using_most_of_the_cpu_dominates_and_a_limit_is_suggested():
    context = {"kind": "node", "workloads": [
        work("frigate", 60.0, namespace="nvr"), work("postgres", 20.0, memory_mib=512.4),
        work("edge-reporter", 2.0), work("irrigation", 1.0), work("extra", 0.5)]}  # fmt: skip
    assert knowledge.explain(fmt(), context, None, 80.0) == [
        "frigate (nvr) dominates it with 60 % of the node's CPU (75% of what is in use); "
        "others: postgres: 20 % CPU, 512 MiB, edge-reporter: 2 % CPU, irrigation: 1 % CPU.",
        "Nothing recorded says what to do; consider limiting frigate or moving it to a node "
        "with spare capacity.",
    ]


def test_the_busiest_workload_without_a_node_figure_and_alone():
    context = {"kind": "node", "workloads": [work("frigate", 30.0)]}
    assert knowledge.explain(fmt(), context, None, 90.0) == [
        "frigate is the busiest with 30 % of the node's CPU (33% of what is in use); others: none."
    ]
    assert knowledge.explain(fmt(), context, None, None) == [
        "frigate is the busiest with 30 % of the node's CPU; others: none."
    ]
    quiet = {"kind": "node", "workloads": [work("frigate", None), work("postgres", None)]}
    assert knowledge.explain(fmt(), quiet, None, 50.0) == [
        "It runs frigate, postgres, none reporting its CPU use."
    ]
    assert knowledge.explain(fmt(), {"kind": "location", "workloads": []}, None, 50.0) == []


def cause(text: str, **extra: Any) -> dict[str, Any]:
    return {"description": text, **extra}


def incident(title: str, hours_ago: float, causes: list[dict[str, Any]], **extra: Any):
    return {"title": title, "started": NOW - hours_ago * 3600, "root_causes": causes, **extra}


def test_past_incidents_at_the_place_with_causes_and_recommendations():
    incidents = [
        incident("fan stuck", 24, [cause("stuck fan", resolution="fan replaced", incidents=3,
                                         recommendation="check the fan")],
                 status="resolved", created_by="ops"),
        incident("hot room", 48, [cause("door open", recommendation="check the fan")]),
        incident("no cause", 50, []),
        incident("old", 72, [cause("power cut", recommendation="add a UPS")]),
        incident("older", 96, [cause("dust")]),
    ]  # fmt: skip
    context = {"kind": "location", "location": "server-room", "incidents": incidents}
    assert knowledge.explain(fmt(), context, {"similar": []}, None) == [
        "Past incidents at server-room (newest first):",
        "- yesterday 14:20: fan stuck (resolved, recorded by ops). Cause: stuck fan (resolved "
        "by: fan replaced), seen in 3 incidents.",
        "- Nov 24 14:20: hot room (open). Cause: door open.",
        "- Nov 23 14:20: old (open). Cause: power cut.",
        "Recommended before: check the fan / add a UPS.",
    ]


def test_similar_past_incidents_come_first_as_likely_explanations():
    past = {"similar": [
        {"started": NOW - 86_400, "title": "pi-node-3 overloaded", "similarity": 0.873,
         "resembles": ["same node", "same metric"],
         "root_causes": [cause("frigate transcoding", recommendation="use substreams")]},
        {"started": NOW - 2 * 86_400, "title": "hot", "similarity": 0.5, "root_causes": []},
    ]}  # fmt: skip
    lines = knowledge.explain(fmt(), {"kind": "other"}, past, None)
    assert lines == [
        "Past incidents that looked like this (likely explanations, not confirmed):\n"
        "- yesterday 14:20 pi-node-3 overloaded: similarity 0.87 (same node, same metric). "
        "Cause then: frigate transcoding.\n"
        "- Nov 24 14:20 hot: similarity 0.50 (a similar shape). Cause then: no root cause "
        "recorded.",
        "Recommended before: use substreams.",
    ]


def episode(**extra: Any) -> dict[str, Any]:
    return {"id": "e1", "metric": "temperature", "unit": "°C", "node": "pi-node-1",
            "sensor": "dht22-1", "started": NOW - 3600, "kind": "process_anomaly",
            "rule": "rate_of_change", **extra}  # fmt: skip


def test_a_recorded_incident_echoes_its_linked_episodes():
    data = {"recorded": {
        "id": "inc-7", "location": "warehouse", "started": NOW - 3600, "status": "open",
        "root_causes": [cause("heater failed")],
        "episodes": [episode(ended=NOW - 1800, peak_value=31.5, peak_sigma=-4.25),
                     episode(kind="sensor_fault", peak_sigma=2.0)]}}  # fmt: skip
    assert knowledge.recorded(fmt("°F"), data) == (
        "Recorded incident inc-7 at warehouse, 13:20: root cause heater failed (open). "
        "Linked 2 episodes: temperature rate of change on pi-node-1 (dht22-1) from 13:20 until "
        "13:50, peak 88.7 °F, 4.2σ below normal; temperature sensor fault on pi-node-1 "
        "(dht22-1) from 13:20 still open, 2.0σ above normal."
        ' Say "no, it was …" to correct it.'
    )


def test_a_corrected_incident_says_what_it_was():
    data = {"corrected": {"id": "inc-7", "location": "warehouse", "started": NOW - 3600,
                          "status": "resolved", "root_causes": [cause("a tripped breaker")]},
            "was": {"root_causes": [cause("heater failed")]}}  # fmt: skip
    assert knowledge.corrected(fmt(), data) == (
        "Corrected incident inc-7 at warehouse, 13:20: root cause a tripped breaker (resolved). "
        "No anomaly episode was found there around that time to link. (was: heater failed)."
    )


def test_a_history_lists_incidents_with_their_episodes_then_the_others():
    data = {"location": "warehouse",
            "incidents": [incident("heater", 2, [cause("relay")],
                                   episodes=[episode(id="e1"), episode(id="e2"),
                                             episode(id="e3"), episode(id="e4")])],
            "episodes": [episode(id="e1"), episode(id="e9", rule=None)]}  # fmt: skip
    lines = knowledge.history(fmt(), data).split("\n")
    assert lines[0] == "1 incident on record for warehouse, newest first:"
    assert lines[1] == "- 12:20: heater (open). Cause: relay."
    assert len([x for x in lines if x.startswith("  - ")]) == 3
    assert lines[-2] == "1 anomaly episode there with no incident recorded, newest:"
    assert lines[-1] == "- temperature anomaly on pi-node-1 (dht22-1) from 13:20 still open"
    none = knowledge.history(fmt(), {"incidents": [], "episodes": [episode()]})
    assert none.split("\n")[0] == "No incidents are recorded for anywhere."


def record(name: str, data: dict[str, Any], status: str = "ok") -> ToolCallRecord:
    return ToolCallRecord(name, {}, ToolResult(status, data, None if status == "ok" else "boom", 1))


def plan(intent: str, **hints: Any) -> Plan:
    return Plan(intent, (), {}, hints)


def test_anomalies_answer_lists_open_episodes_before_the_flagged_readings():
    open_one = {"start": NOW - 600, "open": True, "severity": "critical",
                "kind": "sensor_fault", "rule": "range", "metric": "temperature", "unit": "°C",
                "node": "pi-node-1", "location": "warehouse", "sensor": "dht22-1",
                "peak_value": 89.0, "count": 2}  # fmt: skip
    episodes = {"total": 1, "filters": {"state": "open"}, "episodes": [open_one]}
    flagged = {"counts": {"critical": 0, "warning": 0}, "total": 0, "filters": {},
               "anomalies": []}  # fmt: skip
    none = {"total": 0, "filters": {}, "episodes": []}
    calls = [record("anomalies", flagged), record("anomaly_episodes", episodes),
             record("anomaly_episodes", none)]  # fmt: skip
    assert compose(plan("anomalies"), calls, NOW, TZ) == (
        "1 open anomaly episode over the last 24 hours:\n"
        "- open since 14:10 critical sensor fault (range): temperature on pi-node-1 "
        "(warehouse, dht22-1), peak 89.0 °C, 2 flagged readings\n\n"
        "No anomalies over the last 24 hours."
    )
    failed = [record("anomalies", {}, "error")]
    assert compose(plan("anomalies"), failed, NOW, TZ) == (
        "I could not get that (anomalies): boom."
    )


def test_a_comparison_with_one_side_missing_says_so_and_why():
    summary = {"filters": {"location": "warehouse"}, "series": []}
    calls = [record("metric_summary", summary), record("metric_summary", {}, "error")]
    assert compose(plan("compare"), calls, NOW, TZ) == (
        "Not enough data to compare.\nI could not get that (metric_summary): boom."
    )
    assert compose(plan("compare_time"), calls, NOW, TZ) == (
        "Not enough data to compare.\nI could not get that (metric_summary): boom."
    )
    only_failed = [record("metric_summary", {}, "error")]
    assert compose(plan("compare"), only_failed, NOW, TZ) == (
        "I could not get that (metric_summary): boom."
    )


def test_an_unknown_question_says_each_failure_and_an_unsupported_one_what_it_can():
    unknown = {"unknown": {"kind": "location", "name": "kitchen"}, "known": []}
    calls = [record("metric_summary", {"series": []}),
             ToolCallRecord("metric_summary", {}, ToolResult("no_data", unknown, None, 1)),
             ToolCallRecord("anomalies", {}, ToolResult("no_data", {}, None, 1))]  # fmt: skip
    assert compose(plan("unknown"), calls, NOW, TZ) == (
        "I don't know a location called 'kitchen'. Known locations: none yet.\n"
        "No data: nothing matched."
    )
    text = WRITERS["unsupported"](plan("unsupported"), fmt(), [])
    assert text.startswith("I cannot do that yet. I can tell you current readings")
    assert compose(plan("unsupported"), [], NOW, TZ) == "I have nothing to answer that with."
