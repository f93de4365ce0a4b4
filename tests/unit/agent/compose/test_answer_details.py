"""The details of answers a person reads: what "what's wrong?" lists and when all is well, the
nodes a "why?" explains, silent sensors, episodes of unknown kinds, status filters, rankings and
comparisons on their edges, series without data, statistics without a range, the knowledge
graph's load answers, and the note on a unit that does not apply (said once, naming the
metric)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.agent.compose import counts, faults, knowledge, overview, readings, status, values
from agent_bruno.agent.compose.fmt import Formatter

NOW = datetime(2026, 11, 26, 14, 20, tzinfo=UTC).timestamp()
TZ = ZoneInfo("UTC")
NOT_IN_F = "°F does not apply to humidity; shown in %"


def fmt(unit: str | None = None) -> Formatter:
    return Formatter(NOW, TZ, unit)


def node(name: str, state: str = "healthy", **extra: Any) -> dict[str, Any]:
    return {"node": name, "location": "warehouse", "status": state, "reasons": [],
            "health": {}, "last_heartbeat": NOW - 60, **extra}  # fmt: skip


def nodes(*items: dict[str, Any]) -> dict[str, Any]:
    states = [n["status"] for n in items]
    return {"nodes": list(items),
            "counts": {s: states.count(s) for s in ("healthy", "warning", "offline")}}  # fmt: skip


def series(**extra: Any) -> dict[str, Any]:
    return {"node": "pi-node-1", "location": "warehouse", "sensor": "dht22-1",
            "metric": "humidity", "unit": "%", "latest": 41.0, "latest_ts": NOW - 120,
            "mean": 40.0, "min": 38.0, "max": 42.0, "count": 12, **extra}  # fmt: skip


def summary(*items: dict[str, Any], **filters: Any) -> dict[str, Any]:
    return {"series": list(items), "filters": filters}


def anomaly(i: int) -> dict[str, Any]:
    return {"ts": NOW - 60 * i, "severity": "warning", "metric": "humidity", "unit": "%",
            "value": 90.0, "node": "pi-node-1", "location": "warehouse",
            "sensor": "dht22-1"}  # fmt: skip


def episode(**extra: Any) -> dict[str, Any]:
    return {"start": NOW - 3000, "end": NOW - 1200, "open": True, "severity": "warning",
            "kind": "process_anomaly", "rule": "zscore", "metric": "humidity", "unit": "%",
            "node": "pi-node-1", "location": "warehouse", "sensor": "dht22-1",
            "peak_value": 91.0, "count": 3, "reason": "4σ above", **extra}  # fmt: skip


# What's wrong? ---------------------------------------------------------------------------


def test_all_well_is_said_with_what_was_checked():
    results = {"node_health": nodes(node("pi-node-1"), node("pi-node-2")),
               "anomalies": {"total": 0, "counts": {}, "anomalies": []}}  # fmt: skip
    assert overview.overview(fmt(), results, {}) == (
        "Nothing is wrong: All 2 nodes are healthy. No anomalies flagged over the last 24 hours."
    )


def test_a_long_list_of_flagged_readings_says_how_many_more():
    flagged = {"total": 11, "counts": {"warning": 11}, "anomalies": [anomaly(i) for i in range(11)]}
    lines = overview.overview(fmt(), {"anomalies": flagged}, {}).split("\n")
    assert lines[0] == "11 anomalies flagged over the last 24 hours (11 warnings):"
    assert len(lines) == 1 + overview.LISTED + 1
    assert lines[-1] == "… and 3 more; ask for the anomalies to see them all."


def test_sensors_gone_silent_while_their_node_reports_are_listed():
    quiet = series(latest_ts=NOW - 3600)
    gone = series(node="pi-node-2", latest_ts=NOW - 3600)
    results = {"node_health": nodes(node("pi-node-1"), node("pi-node-2", "offline")),
               "metric_summary": summary(quiet, gone, series(sensor="dht22-2"))}  # fmt: skip
    lines = overview.overview(fmt(), results, {}).split("\n")
    assert lines == [
        "1 node of 2 needs attention:",
        "- pi-node-2 (warehouse): offline: last heartbeat 14:19 (1 min ago)",
        "1 sensor gone silent while the node reports:",
        "- warehouse, pi-node-1 dht22-1 humidity: no reading since 13:20 (60 min ago)",
    ]


def test_a_why_about_many_nodes_explains_only_those_in_trouble():
    results = {
        "node_health": nodes(node("pi-node-1"), node("pi-node-3", "warning", reasons=["CPU 97 %"])),
        "metric_summary": summary(series(), series(node="pi-node-3", latest=55.0),
                                  metric="humidity"),
        "forge_analysis": {"model": "forge-7b", "analysis": "a fan is stuck"},
    }  # fmt: skip
    lines = overview.diagnosis(fmt("°F"), results, {}).split("\n")
    assert lines == [
        "pi-node-3 (warehouse): warning (CPU 97 %); last heartbeat 14:19 (1 min ago).",
        "Over the last hour: humidity on pi-node-3 (dht22-1) 55.0 % latest; avg 40.0 %, "
        "min 38.0 %, max 42.0 %.",
        "Analysis (forge-7b): a fan is stuck",
    ]


def test_a_unit_that_does_not_apply_is_noted_once_naming_the_metric():
    results = {"node_health": nodes(node("pi-node-1")),
               "metric_summary": summary(series(), metric="humidity")}  # fmt: skip
    f = fmt("°F")
    overview.diagnosis(f, results, {})
    assert f.notes == [NOT_IN_F]
    f = fmt("°F")
    status.raw(f, {"node": "pi-node-1", "location": "warehouse", "start": NOW - 600, "end": NOW,
                   "readings": [{"ts": NOW - 60, "sensor": "dht22-1", "metric": "humidity",
                                 "value": 40.0, "unit": "%"}]}, {})  # fmt: skip
    assert f.notes == [NOT_IN_F]
    f = fmt("°F")
    status.episode_line(f, episode())
    assert f.notes == [NOT_IN_F]
    f = fmt("°F")
    faults.faults_note(f, series(faults={"count": 1, "min": 99.0, "max": 99.0}))
    assert f.notes == [NOT_IN_F]
    f = fmt("°F")
    faults.faults_note(f, series(faults={"count": 2, "min": 95.0, "max": 99.0}))
    assert f.notes == [NOT_IN_F]
    f = fmt("°F")
    values.stats(f, [summary(series(), series(sensor="dht22-2"), metric="humidity")], {})
    assert f.notes == [NOT_IN_F]
    f = fmt("°F")
    readings.compare(f, [summary(series(), location="warehouse"),
                         summary(series(location="office", latest=30.0), location="office")],
                     {})  # fmt: skip
    assert f.notes == [NOT_IN_F]
    f = fmt("°F")
    ranked = summary(series(), series(location="office", latest=30.0), metric="humidity")
    readings.rank(f, ranked, {"order": "both"})
    assert f.notes == [NOT_IN_F]
    for periods in (["now", "yesterday"], ["today", "yesterday"]):
        f = fmt("°F")
        readings.compare_time(f, [summary(series(), metric="humidity"),
                                  summary(series(), metric="humidity")],
                              {"periods": periods})  # fmt: skip
        assert f.notes == [NOT_IN_F]


# States, episodes, inventories -------------------------------------------------------------


def test_an_episode_of_a_kind_without_words_shows_the_kind_itself():
    line = status.episode_line(fmt(), episode(kind="drift", peak_value=None))
    assert line == (
        "- open since 13:30 warning drift (zscore): humidity on pi-node-1 (warehouse, dht22-1), "
        "3 flagged readings: 4σ above"
    )


def test_a_status_filter_nothing_matches_counts_every_node():
    data = nodes(node("pi-node-1"), node("pi-node-2"))
    assert status.health(fmt(), data, {"status": "offline"}) == (
        "No node is offline: all 2 nodes are 2 healthy."
    )


def test_critical_nodes_asked_of_two_say_no_status_is_so_called_and_list_the_unhealthy():
    data = nodes(node("pi-node-1"), node("pi-node-2", "warning", reasons=["CPU 94% above 90%"]))
    assert status.health(fmt(), data, {"status": "critical"}) == (
        "No node status is called critical (a node is healthy, in warning or offline); "
        "1 node of 2 is not healthy:\n"
        "- pi-node-2 (warehouse): warning (CPU 94% above 90%); last heartbeat 14:19 (1 min ago)\n"
        "The other 1 node: 1 healthy."
    )


def test_graph_workloads_on_a_node_line_are_named():
    line = status.node_line(fmt(), node("pi-node-1", workloads=[{"name": "frigate"}, "nginx"]))
    assert (
        line == "- pi-node-1 (warehouse): healthy; last heartbeat 14:19 (1 min ago); "
        "runs frigate, nginx"
    )


def test_a_workload_named_like_a_common_word_is_not_taken_as_asked():
    data = {"nodes": [node("pi-node-1", workloads=["one"]), node("pi-node-2", workloads=[])]}
    assert status.workloads(fmt(), data, {}).split("\n")[1] == (
        "- pi-node-1 (warehouse, healthy): one"
    )


def test_which_node_runs_a_workload_named_beside_a_node_lists_its_hosts():
    data = {"nodes": [node("pi-node-1", workloads=["frigate"]), node("pi-node-2", workloads=[])]}
    text = status.workloads(fmt(), data, {"question": "does pi-node-1 run frigate?"})
    assert text == "frigate runs on 1 node: pi-node-1 (warehouse, healthy)."


INVENTORY = {
    "nodes": {"pi-node-1": "warehouse"},
    "sensors": {"pi-node-1": {"dht22-1": ["humidity"]}},
    "locations": {"warehouse": ["pi-node-1"]},
    "metrics": {"humidity": "%"},
}


def test_an_inventory_of_a_node_and_an_unrecognised_question():
    assert status.inventory(fmt(), INVENTORY, {"filters": {"node": "pi-node-1"}}) == (
        "Sensors in pi-node-1:\n- pi-node-1 (warehouse): dht22-1 (humidity)\n"
        "Each node also reports its own CPU, memory, disk, load and SoC temperature."
    )
    lost = status.inventory(fmt(), INVENTORY, {"help": "unrecognised"}).split("\n")[0]
    assert lost == (
        "I did not recognise what to look up. I can answer about these locations, nodes and "
        'metrics, e.g. "What\'s the temperature in the warehouse?", "Show me sensor '
        'anomalies", "List all Pi nodes and their health status".'
    )
    helped = status.inventory(
        fmt(), INVENTORY, {"help": True, "filters": {"node": "pi-node-1", "metric": "co2"}}
    ).split("\n")
    assert helped[1:] == ["Sensors in pi-node-1 measuring CO2:", "- none"]


def test_a_unit_asked_of_a_metric_nothing_measures_is_said():
    text = status.unit_info(fmt(), INVENTORY, {"metrics": ["humidity", "co2"]})
    assert text == "Humidity is in %. Nothing stored measures CO2."


def test_a_series_without_a_count_has_no_readings():
    data = summary(series(count=None), metric="humidity")
    assert counts.readings(fmt(), data, {}).split("\n")[:2] == [
        "0 readings over the last hour from all nodes (humidity):",
        "- pi-node-1 dht22-1 humidity: 0 readings",
    ]


# Values ----------------------------------------------------------------------------------


def test_every_reading_of_every_node_and_an_open_episode_without_peak():
    context = {"anomaly_episodes": {"episodes": [episode(peak_value=None)]}}
    text = values.current(fmt(), [summary(series())], {}, context)
    assert text == (
        "Latest readings from every node (1 series):\npi-node-1 (warehouse):\n"
        "- humidity (dht22-1): 41.0 %, as of 14:18, 2 min ago — open warning anomaly episode "
        "since 13:30 (zscore): 4σ above"
    )


def test_a_flagged_dropout_beside_a_value_says_no_reading():
    context = {"anomalies": {"anomalies": [{**anomaly(1), "value": None}]}}
    text = values.current(fmt(), [summary(series(), metric="humidity")], {}, context)
    assert text.endswith(
        "— open warning anomaly: 1 flagged reading since 14:19, newest no reading at 14:19"
    )


def test_the_asked_statistic_with_the_latest_value_and_one_block_per_metric():
    hints = {"span": {"start": NOW - 3600, "end": NOW, "label": "the last hour"},
             "aggregates": ["max"]}  # fmt: skip
    two = [
        summary(series(), metric="humidity"),
        summary(series(metric="co2", unit="ppm", latest=600.0, max=700.0), metric="co2"),
    ]
    assert values.current(fmt(), two, hints).split("\n") == [
        "Humidity:",
        "- warehouse, pi-node-1 (dht22-1): 41.0 %, as of 14:18, 2 min ago; max 42.0 % over the "
        "last hour",
        "CO2:",
        "- warehouse, pi-node-1 (dht22-1): 600 ppm, as of 14:18, 2 min ago; max 700 ppm over the "
        "last hour",
    ]


def test_statistics_of_every_metric_default_to_the_last_hour_and_say_late_data():
    late = series(first_ts=NOW - 1200)
    text = values.stats(fmt(), [summary(late, node="pi-node-1")], {})
    assert text.split("\n")[-1] == (
        "- humidity (dht22-1): 41.0 %, as of 14:18, 2 min ago; avg 40.0 %, min 38.0 %, "
        "max 42.0 % over the last hour (data from 14:00, 20 min)"
    )
    one = values.stats(fmt(), [summary(late, metric="humidity")], {})
    assert one.endswith("over the last hour (data from 14:00, 20 min)")


def test_data_starting_with_the_range_or_without_a_count_is_not_said_late():
    span = {"start": NOW - 3600, "end": NOW - 1800, "label": "x"}
    assert values.coverage(fmt(), series(first_ts=NOW - 2880), span, 3600.0) == (
        " (data from 13:32, 18 min)"
    )
    assert values.coverage(fmt(), series(first_ts=NOW - 3500), span, 3600.0) == ""
    assert values.coverage(fmt(), series(first_ts=NOW - 1700), span, 3600.0) == ""
    assert values.coverage(fmt(), series(first_ts=NOW - 3000, count=0), span, 3600.0) == ""
    assert values.coverage(fmt(), series(first_ts=NOW - 3000), None, 7200.0) == (
        " (data from 13:30, 50 min)"
    )


def test_a_node_and_a_place_named_together_read_as_on_the_node():
    assert values.subject({"metric": "humidity", "node": "pi-node-1", "location": "warehouse"}) == (
        "Humidity on pi-node-1"
    )


# Rankings and comparisons -------------------------------------------------------------------


def test_a_ranking_skips_series_without_a_value_and_says_when_none_has_one():
    data = summary(series(), series(location="office", latest=None), metric="humidity")
    assert readings.rank(fmt(), data, {}).split("\n")[-1] == "1. warehouse: 41.0 %"
    empty = summary(series(latest=None), metric="humidity")
    assert readings.rank(fmt(), empty, {}) == "No humidity values to rank."


def test_a_ranking_over_a_range_and_a_soc_question_read_as_room_temperature():
    data = summary(series(), series(location="office", mean=30.0), metric="humidity")
    span = {"start": NOW - 3600, "end": NOW, "label": "the last hour"}
    head = readings.rank(fmt(), data, {"span": span}).split("\n")[0]
    assert head == (
        "warehouse has the highest humidity: 40.0 % (average over the last hour; "
        "pi-node-1 dht22-1 40.0 %)."
    )
    soc = readings.rank(fmt(), data, {"clarify": "soc"}).split("\n")[-1]
    assert soc == (
        "These are the rooms' temperatures at each node. Do you mean the Pis' own temperature? "
        'Ask "which Pi has the hottest SoC?" for that.'
    )


def test_two_pis_compare_their_own_temperature_as_warmer():
    a = series(metric="soc_temp_c", unit="°C", latest=61.0, sensor="node")
    b = series(metric="soc_temp_c", unit="°C", latest=55.0, sensor="node", node="pi-node-2")
    text = readings.compare(fmt(), [summary(a, node="pi-node-1"), summary(b, node="pi-node-2")], {})
    assert text.split("\n")[0] == (
        "pi-node-1 is warmer than pi-node-2: 61.0 °C vs 55.0 °C, a difference of 6.0 °C "
        "(latest readings)."
    )


def test_two_rooms_compare_on_what_is_measured_there_not_their_pis():
    room = [summary(series(), series(metric="cpu_percent", unit="%", latest=90.0, sensor="node"),
                    location="warehouse"),
            summary(series(location="office", latest=30.0),
                    series(location="office", metric="cpu_percent", unit="%", latest=10.0,
                           sensor="node"), location="office")]  # fmt: skip
    text = readings.compare(fmt(), room, {})
    assert text.split("\n")[0].startswith("warehouse is more humid than office: 41.0 % vs 30.0 %")
    assert "CPU" not in text
    both = [summary(series(metric="cpu_percent", unit="%", sensor="node"), node="pi-node-1"),
            summary(series(location="office"), location="office")]  # fmt: skip
    assert readings.compare(fmt(), both, {}) == (
        "Not enough data to compare pi-node-1 and office: they share no metric with data."
    )


def test_a_comparison_over_time_defaults_to_now_against_before_and_keeps_room_metrics():
    pi = series(metric="cpu_percent", unit="%", sensor="node", latest=50.0, mean=45.0)
    data = [summary(series(), pi, location="warehouse"), summary(series(), pi, location="x")]
    lines = readings.compare_time(fmt(), data, {}).split("\n")
    assert lines == [
        "Readings in warehouse, now vs before:",
        "- warehouse, pi-node-1 (dht22-1): 41.0 % as of 14:18, 2 min ago vs avg 40.0 % before "
        "(+1.0 %)",
    ]
    asked = [summary(pi, metric="cpu_percent", location="warehouse")] * 2
    assert readings.compare_time(fmt(), asked, {}).split("\n") == [
        "CPU in warehouse, now vs before:",
        "- warehouse, pi-node-1 (node): 50.0 % as of 14:18, 2 min ago vs avg 45.0 % before "
        "(+5.0 %)",
    ]


def test_a_trend_at_exactly_a_fifth_of_the_spread_is_rising():
    s = series(min=19.0, max=21.5, points=[{"ts": NOW - 600, "mean": 20.0},
                                           {"ts": NOW, "mean": 20.5}], step=300)  # fmt: skip
    data = summary(s, metric="humidity")
    assert "; rising by 0.5 % from start to end" in readings.series(fmt(), data, {})
    empty = summary(series(count=0, latest=None, points=[{"ts": NOW, "mean": 20.0}], step=300),
                    metric="humidity")  # fmt: skip
    assert readings.series(fmt(), empty, {}).split("\n")[1] == (
        "- warehouse, pi-node-1 (dht22-1), 1 point every 5 min: 20.0 % at 14:20 → 20.0 % at "
        "14:20; no data over the last hour"
    )


# The knowledge graph ----------------------------------------------------------------------


def test_a_loaded_node_without_graph_workloads_says_so_first():
    busy = node("pi-node-3", health={"cpu_percent": 95.0})
    del busy["last_heartbeat"]
    past = {"similar": []}
    text = knowledge.load(fmt(), busy, {"incidents": []}, past, 80.0)
    assert text.split("\n") == [
        "pi-node-3 (warehouse) is under high load: CPU 95 %, load unknown (time unknown).",
        "The graph knows no workloads on it, so I cannot say what uses the CPU.",
    ]
    context = {"workloads": [{"name": "frigate", "cpu_percent": 60.0}]}
    text = knowledge.load(fmt(), {**busy, "last_heartbeat": NOW - 60}, context, past, 80.0)
    assert text.split("\n")[1] == (
        "frigate dominates it with 60 % of the node's CPU (63% of what is in use); others: none."
    )


def test_an_offline_node_is_not_called_unloaded():
    gone = node("pi-node-3", "offline", health={"cpu_percent": 5.0})
    assert knowledge.not_loaded(fmt(), gone) is None


def test_half_the_cpu_dominates_and_a_place_lists_no_workload_shares():
    context = {"kind": "node", "workloads": [{"name": "frigate", "cpu_percent": 40.0}]}
    lines = knowledge.explain(fmt(), context, None, 80.0)
    assert lines[0].startswith("frigate dominates it with 40 % of the node's CPU (50% of")
    assert lines[1].startswith("Nothing recorded says what to do; consider limiting frigate")
    place = {"kind": "location", "workloads": [{"name": "frigate", "cpu_percent": 40.0}]}
    assert knowledge.explain(fmt(), place, None, None) == []


def test_causes_seen_in_two_incidents_say_so_and_incidents_without_causes_are_named():
    past = {"similar": [{"started": NOW - 7200, "title": "hot", "similarity": 0.9}]}
    assert knowledge.explain(fmt(), {}, past, None) == [
        "Past incidents that looked like this (likely explanations, not confirmed):\n"
        "- 12:20 hot: similarity 0.90 (a similar shape). Cause then: no root cause recorded."
    ]
    two = {"location": "warehouse", "incidents": [
        {"title": "hot", "started": NOW - 7200,
         "root_causes": [{"description": "fan", "incidents": 2}]}]}  # fmt: skip
    assert knowledge.history(fmt(), two).split("\n")[1] == (
        "- 12:20: hot (open). Cause: fan, seen in 2 incidents."
    )
    assert knowledge.history(fmt(), {"episodes": []}) == (
        "Nothing is on record for anywhere: no incidents and no anomaly episodes."
    )


def test_a_place_without_a_latest_value_leaves_nothing_to_compare():
    data = [summary(series(), location="warehouse"),
            summary(series(location="office", latest=None), location="office")]  # fmt: skip
    assert readings.compare(fmt(), data, {}) == "Not enough data to compare: warehouse."


def test_two_places_compared_on_a_pi_metric_asked_by_name():
    cpu = {"metric": "cpu_percent", "unit": "%", "sensor": "node"}
    data = [summary(series(**cpu, latest=90.0), metric="cpu_percent", location="warehouse"),
            summary(series(**cpu, location="office", latest=10.0), metric="cpu_percent",
                    location="office")]  # fmt: skip
    assert readings.compare(fmt(), data, {}).split("\n")[0] == (
        "warehouse is higher in CPU than office: 90.0 % vs 10.0 %, a difference of 80.0 % "
        "(latest readings)."
    )


def test_a_loaded_node_with_past_incidents_but_no_workloads_says_the_gap_first():
    busy = node("pi-node-3", health={"cpu_percent": 95.0, "load_1m": 3.5})
    context = {
        "location": "server-room",
        "incidents": [
            {"title": "hot", "started": NOW - 7200, "root_causes": [{"description": "fan"}]}
        ],
    }
    lines = knowledge.load(fmt(), busy, context, None, 80.0).split("\n")
    assert lines == [
        "pi-node-3 (warehouse) is under high load: CPU 95 %, load 3.5 (as of 14:19, 1 min ago).",
        "The graph knows no workloads on it, so I cannot say what uses the CPU.",
        "Past incidents at server-room (newest first):",
        "- 12:20: hot (open). Cause: fan.",
    ]


def test_which_is_drier_names_the_drier_place_first():
    data = [summary(series(), location="warehouse"),
            summary(series(location="office", latest=30.0), location="office")]  # fmt: skip
    assert readings.compare(fmt(), data, {"order": "low"}).split("\n")[0] == (
        "office is drier than warehouse: 30.0 % vs 41.0 %, a difference of 11.0 % "
        "(latest readings)."
    )


def test_which_is_more_humid_names_the_more_humid_place_first():
    data = [summary(series(location="office", latest=30.0), location="office"),
            summary(series(), location="warehouse")]  # fmt: skip
    assert readings.compare(fmt(), data, {"order": "high"}).split("\n")[0] == (
        "warehouse is more humid than office: 41.0 % vs 30.0 %, a difference of 11.0 % "
        "(latest readings)."
    )


def test_a_lower_reading_of_a_metric_without_its_own_words_is_lower():
    co2 = {"metric": "co2", "unit": "ppm", "sensor": "scd41-1"}
    data = [summary(series(location="office", latest=400.0, **co2), location="office"),
            summary(series(latest=650.0, **co2), location="warehouse")]  # fmt: skip
    assert (
        readings.compare(fmt(), data, {})
        .split("\n")[0]
        .startswith("office is lower in CO2 than warehouse: 400 ppm vs 650 ppm")
    )


def test_places_reading_the_same_in_a_unit_that_does_not_apply_name_the_metric():
    data = [summary(series(location="office"), location="office"),
            summary(series(), location="warehouse")]  # fmt: skip
    f = fmt("°F")
    assert readings.compare(f, data, {}).split("\n")[0] == (
        "office and warehouse read the same humidity: 41.0 % (latest readings)."
    )
    assert f.notes == ["°F does not apply to humidity; shown in %"]


def test_a_ranking_with_a_limit_shows_the_top_or_bottom_few_and_says_of_how_many():
    data = summary(*(series(location=name, latest=v) for name, v in
                     (("attic", 10.0), ("barn", 20.0), ("cellar", 30.0))))  # fmt: skip
    top = readings.rank(fmt(), data, {"limit": 2}).split("\n")[1:]
    assert top == ["Ranking (top 2 of 3):", "1. cellar: 30.0 %", "2. barn: 20.0 %"]
    bottom = readings.rank(fmt(), data, {"limit": 2, "order": "low"}).split("\n")[1:]
    assert bottom == ["Ranking (bottom 2 of 3):", "1. attic: 10.0 %", "2. barn: 20.0 %"]
    both = readings.rank(fmt(), data, {"limit": 2, "order": "both"}).split("\n")[2:]
    assert both == ["Ranking:", "1. cellar: 30.0 %", "2. barn: 20.0 %", "3. attic: 10.0 %"]


def test_a_ranking_of_both_ends_names_the_lowest_of_two_places_and_not_of_one():
    two = summary(series(), series(location="office", latest=30.0), metric="humidity")
    assert readings.rank(fmt(), two, {"order": "both"}).split("\n")[1] == (
        "office has the lowest: 30.0 %."
    )
    one = readings.rank(fmt(), summary(series(), metric="humidity"), {"order": "both"})
    assert one.split("\n")[1:] == ["Ranking:", "1. warehouse: 41.0 %"]


def test_a_ranking_asking_a_statistic_without_a_range_ranks_the_latest_readings():
    data = summary(series(), series(location="office", latest=30.0, max=45.0), metric="humidity")
    assert readings.rank(fmt(), data, {"aggregate": "max"}).split("\n") == [
        "warehouse has the highest humidity: 41.0 % (latest readings; "
        "pi-node-1 dht22-1 41.0 % as of 14:18, 2 min ago).",
        "Ranking:",
        "1. warehouse: 41.0 %",
        "2. office: 30.0 %",
    ]


def test_a_ranking_over_a_range_shows_each_members_average():
    data = summary(series(), series(node="pi-node-2", latest=43.0, mean=44.0), metric="humidity")
    span = {"start": NOW - 3600, "end": NOW, "label": "the last hour"}
    assert readings.rank(fmt(), data, {"span": span}).split("\n")[-1] == (
        "1. warehouse: 42.0 % (pi-node-1 40.0 %, pi-node-2 44.0 %)"
    )


def test_workloads_name_their_namespace_and_a_cpu_not_reported():
    quiet = {"node": "pi-node-3", "location": "server-room", "workloads": [
        {"name": "frigate", "namespace": "vision", "cpu_percent": None, "last_seen": NOW - 60},
        {"name": "edge-reporter", "namespace": "", "cpu_percent": None, "last_seen": NOW - 60},
    ]}  # fmt: skip
    assert knowledge.workloads(fmt(), quiet) == (
        "pi-node-3 (server-room) runs 2 workloads (as of 14:19, 1 min ago): "
        "frigate (vision), edge-reporter. None of them reports its CPU use."
    )
    busy = {**quiet, "workloads": [{**quiet["workloads"][0], "cpu_percent": 81.5},
                                   quiet["workloads"][1]]}  # fmt: skip
    assert knowledge.workloads(fmt(), busy).split("\n")[1:] == [
        "- frigate (vision): 82 % CPU",
        "- edge-reporter: CPU not reported",
    ]


@pytest.mark.parametrize(
    ("asked", "metric", "unit", "a", "b"),
    [
        (None, "temperature", "°C", 18.7, 24.149),
        ("°F", "temperature", "°C", 18.7, 24.149),
        (None, "humidity", "%", 41.04, 30.05),
        (None, "motion", "", 0.496, 0.0),  # an MQTT motion sensor (0/1): a whole number
    ],
)
def test_a_difference_is_that_of_the_two_values_as_shown(asked, metric, unit, a, b):
    span = {"start": NOW - 3600, "end": NOW, "label": "the last hour"}
    here = series(metric=metric, unit=unit, location="hall", mean=a)
    there = series(metric=metric, unit=unit, location="kitchen", mean=b)
    both = [summary(here, location="hall"), summary(there, location="kitchen")]
    text = readings.compare(fmt(asked), both, {"span": span})
    shown = re.search(r": (\S+)(?: \S+)? vs (\S+)(?: \S+)?, a difference of (\S+)", text)
    assert shown, text
    first, second, gap = (Decimal(g) for g in shown.groups())
    assert gap == abs(first - second), text


def test_an_mqtt_motion_sensor_reads_in_whole_numbers():
    pir = series(metric="motion", unit="", sensor="door-pir", location="hall", latest=1.0, mean=0.0)
    text = readings.compare_time(fmt(), [summary(pir, location="hall"),
                                         summary(pir, location="hall")], {})  # fmt: skip
    assert text.split("\n")[1] == (
        "- hall, pi-node-1 (door-pir): 1 as of 14:18, 2 min ago vs avg 0 before (+1)"
    )
