"""The wording of answer shapes the eval world does not produce: sensor glitches left out of a
statistic, anomaly episodes, workloads from heartbeats, raw readings, an incident sentence that
lacks its place or cause, and what an inventory lists for a place or a metric."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent_bruno.agent.compose import WRITERS, compose, faults, status
from agent_bruno.agent.compose.fmt import Formatter
from agent_bruno.agent.nlu.plan import Plan
from agent_bruno.agent.tools.base import ToolCallRecord, ToolResult

NOW = datetime(2026, 11, 26, 14, 20, tzinfo=UTC).timestamp()
TZ = ZoneInfo("UTC")


def fmt(unit: str | None = None) -> Formatter:
    return Formatter(NOW, TZ, unit)


def stat(**extra: Any) -> dict[str, Any]:
    return {"unit": "°C", "metric": "temperature", "min": 18.0, "max": 23.0, **extra}


def test_one_glitch_left_out_is_named_with_its_value_and_time():
    s = stat(faults={"count": 1, "min": 89.0, "max": 89.0, "max_ts": NOW - 1080})
    assert faults.faults_note(fmt(), s) == "; excluding a sensor glitch of 89.0 °C at 14:02"
    assert faults.faults_note(fmt("°F"), s) == "; excluding a sensor glitch of 192.2 °F at 14:02"


def test_one_low_glitch_is_named_by_its_low_value():
    s = stat(faults={"count": 1, "min": -40.0, "max": -40.0, "min_ts": NOW - 600, "max_ts": None})
    assert faults.faults_note(fmt(), s) == "; excluding a sensor glitch of -40.0 °C at 14:10"


def test_an_included_glitch_says_so_and_a_glitch_without_time_has_none():
    s = stat(faults={"count": 1, "min": 89.0, "max": 89.0}, faults_included=True)
    assert faults.faults_note(fmt(), s) == "; including a sensor glitch of 89.0 °C"


def test_several_glitches_give_their_count_and_range():
    s = stat(faults={"count": 3, "min": 85.0, "max": 91.5})
    assert (
        faults.faults_note(fmt(), s) == "; excluding 3 sensor-fault readings (85.0 °C to 91.5 °C)"
    )
    same = stat(faults={"count": 2, "min": 85.0, "max": 85.0}, faults_included=True)
    assert faults.faults_note(fmt(), same) == "; including 2 sensor-fault readings (85.0 °C)"


def test_no_glitch_adds_nothing():
    assert faults.faults_note(fmt(), stat()) == ""
    assert faults.faults_note(fmt(), stat(faults={"count": 0, "min": 1.0, "max": 2.0})) == ""


def episode(**extra: Any) -> dict[str, Any]:
    return {"start": NOW - 3000, "end": NOW - 1200, "open": False, "severity": "warning",
            "kind": "process_anomaly", "rule": "zscore", "metric": "temperature", "unit": "°C",
            "node": "pi-node-1", "location": "warehouse", "sensor": "dht22-1",
            "peak_value": 31.5, "peak_ts": NOW - 2400, "count": 4,
            "reason": "4.1σ above the baseline", **extra}  # fmt: skip


def test_episodes_are_counted_open_ones_said_and_each_listed():
    data = {"total": 2, "filters": {"location": "warehouse"},
            "episodes": [episode(open=True, severity="critical", kind="sensor_fault",
                                 peak_ts=None, count=1, reason=None),
                         episode()]}  # fmt: skip
    text = status.episodes(fmt(), data, {"span": {"label": "today"}})
    assert text.split("\n") == [
        "2 anomaly episodes today (location warehouse) (1 open):",
        "- open since 13:30 critical sensor fault (zscore): temperature on pi-node-1 "
        "(warehouse, dht22-1), peak 31.5 °C, 1 flagged reading",
        "- 13:30–14:00 warning unusual values (zscore): temperature on pi-node-1 "
        "(warehouse, dht22-1), peak 31.5 °C at 13:40, 4 flagged readings: 4.1σ above the baseline",
    ]


def test_open_episodes_asked_for_and_none_found():
    none = {"total": 0, "filters": {"state": "open", "node": "pi-node-2"}, "episodes": []}
    assert status.episodes(fmt(), none, {}) == (
        "No open anomaly episodes over the last 24 hours (node pi-node-2)."
    )
    one = {"total": 1, "filters": {"state": "open"}, "episodes": [episode(open=True)]}
    head = status.episodes(fmt("°F"), one, {}).split("\n")
    assert head[0] == "1 open anomaly episode over the last 24 hours:"
    assert "peak 88.7 °F at 13:40" in head[1]


def test_a_long_episode_list_is_cut():
    rows = [episode(peak_value=None) for _ in range(status.MAX_LISTED + 3)]
    lines = status.episodes(fmt(), {"total": 40, "filters": {}, "episodes": rows}, {}).split("\n")
    assert lines[0] == "40 anomaly episodes over the last 24 hours (0 open):"
    assert len(lines) == 1 + status.MAX_LISTED + 1
    assert lines[-1] == "… and 15 more not listed here."
    assert ", peak" not in lines[1]


def node(name: str, location: str, state: str, workloads: list[str]) -> dict[str, Any]:
    return {"node": name, "location": location, "status": state, "reasons": [], "health": {},
            "last_heartbeat": NOW - 7200, "workloads": workloads}  # fmt: skip


def test_workloads_from_heartbeats_by_node_and_by_workload():
    data = {
        "nodes": [
            node("pi-node-1", "warehouse", "healthy", ["edge-reporter"]),
            node("pi-node-3", "server-room", "offline", ["edge-reporter", "frigate"]),
        ]
    }
    assert status.workloads(fmt(), data, {}) == (
        "Workloads by node (from their heartbeats):\n"
        "- pi-node-1 (warehouse, healthy): edge-reporter\n"
        "- pi-node-3 (server-room, offline since 12:20): edge-reporter, frigate\n"
        "(An offline node's workloads are as it last reported them.)"
    )
    asked = status.workloads(fmt(), data, {"question": "Which node runs Frigate?"})
    assert asked == "frigate runs on 1 node: pi-node-3 (server-room, offline)."
    both = status.workloads(fmt(), data, {"question": "where do edge-reporter and frigate run"})
    assert both == (
        "edge-reporter runs on 2 nodes: pi-node-1 (warehouse, healthy) and pi-node-3 "
        "(server-room, offline).\nfrigate runs on 1 node: pi-node-3 (server-room, offline)."
    )
    alone = {"nodes": data["nodes"][1:]}
    assert status.workloads(fmt(), alone, {"question": "does pi-node-3 run frigate"}) == (
        "pi-node-3 (server-room, offline since 12:20): edge-reporter, frigate.\n"
        "(An offline node's workloads are as it last reported them.)"
    )
    one = {"nodes": [node("pi-node-1", "warehouse", "healthy", [])]}
    assert status.workloads(fmt(), one, {}) == (
        "pi-node-1 (warehouse, healthy): no workloads reported."
    )


def test_raw_readings_count_range_and_newest_ten():
    rows = [{"ts": NOW - 60 * (12 - i), "sensor": "dht22-1", "metric": "temperature",
             "value": 20.0 + i, "unit": "°C"} for i in range(12)]  # fmt: skip
    data = {"node": "pi-node-1", "location": "warehouse", "start": NOW - 900, "end": NOW,
            "readings": rows, "truncated": True}  # fmt: skip
    lines = status.raw(fmt("°F"), data, {}).split("\n")
    assert lines[0] == (
        "12 raw readings from pi-node-1's reporter (warehouse) between 14:05 and 14:20 "
        "(more exist; narrow the range); newest:"
    )
    assert len(lines) == 11
    assert lines[1] == "- 14:10 dht22-1 temperature 71.6 °F"
    assert lines[-1] == "- 14:19 dht22-1 temperature 87.8 °F"


def plan(intent: str, **hints: Any) -> Plan:
    return Plan(intent, (), {}, hints)


def call(name: str, data: dict[str, Any], state: str = "ok") -> ToolCallRecord:
    return ToolCallRecord(name, {}, ToolResult(state, data, None if state == "ok" else "x", 1))


def test_an_incident_sentence_without_place_or_cause_asks_for_it():
    # The writer of incident records (the built-in intent answers "unsupported" for now).
    write = WRITERS["incident_record"]
    example = "the warehouse heater failed at 14:00 because of a stuck relay"
    assert write(plan("incident_record", need="place", example=example), fmt(), []) == (
        "I could not tell where it happened. Say what happened, where and when, and its cause, "
        f"e.g. {example}."
    )
    assert write(plan("incident_record", need="cause", example="x"), fmt(), []).startswith(
        "I could not tell what caused it. "
    )
    failed = [call("record_incident", {}, "error")]
    assert write(plan("incident_record"), fmt(), failed) == (
        "I could not get that (record_incident): x."
    )


INVENTORY = {
    "nodes": {"pi-node-1": "warehouse", "pi-node-4": "office"},
    "sensors": {"pi-node-1": {"dht22-1": ["humidity", "temperature"], "node": ["cpu_percent"]},
                "pi-node-4": {"mhz19-1": ["co2"]}},
    "locations": {"office": ["pi-node-4"], "warehouse": ["pi-node-1"]},
    "metrics": {"co2": "ppm", "humidity": "%", "load_1m": "", "temperature": "°C"},
}  # fmt: skip


def test_an_inventory_of_a_place_or_a_metric():
    at = status.inventory(fmt(), INVENTORY, {"filters": {"location": "warehouse"}})
    assert at == (
        "Sensors in warehouse:\n- pi-node-1 (warehouse): dht22-1 (humidity, temperature)\n"
        "Each node also reports its own CPU, memory, disk, load and SoC temperature."
    )
    co2 = status.inventory(fmt(), INVENTORY, {"filters": {"metric": "co2"}})
    assert co2 == "Sensors in the homelab measuring CO2:\n- pi-node-4 (office): mhz19-1 (co2)"
    none = status.inventory(
        fmt(), INVENTORY, {"filters": {"node": "pi-node-4", "metric": "humidity"}}
    )
    assert none == "Sensors in pi-node-4 measuring humidity:\n- none"


def test_an_unrecognised_question_lists_what_exists():
    scores = [["current", 0.2]]
    text = compose(plan("help", scores=scores), [call("inventory", INVENTORY)], NOW, TZ)
    lines = text.split("\n")
    assert lines[0].startswith("I did not recognise what to look up.")
    assert lines[1] == "Locations: office and warehouse."
    assert lines[-2] == "Metrics: co2 (ppm), humidity (%), load_1m, temperature (°C)."
    assert lines[-1] == "Sensors: dht22-1, mhz19-1, node."
    asked = compose(plan("help", scores=[["help", 0.9]]), [call("inventory", INVENTORY)], NOW, TZ)
    assert asked.startswith("I answer questions about this homelab's sensors and nodes")
    assert compose(plan("help"), [], NOW, TZ).startswith("I can tell you current readings")
