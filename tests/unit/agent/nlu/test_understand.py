"""Built-in understanding: questions to intents and tool calls, follow-ups over the focus."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.agent.nlu.extract import extract
from agent_bruno.agent.nlu.reading import TurnReading
from agent_bruno.agent.nlu.understand import asking_part, clauses, intent_of, understand, warm_up
from agent_bruno.agent.nlu.vocabulary import Vocabulary

NOW = datetime(2026, 11, 26, 14, 20, tzinfo=UTC).timestamp()
TZ = ZoneInfo("UTC")
VOCAB = Vocabulary(
    locations=("garage", "greenhouse", "office", "server-room", "warehouse", "warehouse-b"),
    nodes=tuple(f"pi-node-{i}" for i in range(1, 7)),
    sensors=("bmp280-1", "dht22-1", "mhz19-1", "node", "pir-1"),
    metrics=("co2", "cpu_percent", "humidity", "load_1m", "temperature"),
)


def _main(plan: Any) -> list[Any]:
    """The calls that answer: a value question also reads its series' open anomalies, and an
    anomaly question the episodes they form."""
    context = {"current": ("anomalies", "anomaly_episodes"), "anomalies": ("anomaly_episodes",)}
    return [c for c in plan.calls if c.name not in context.get(plan.intent, ())]


def _calls(question: str, focus: dict[str, Any] | None = None) -> list[tuple[str, dict[str, Any]]]:
    plan = understand(question, focus, VOCAB, NOW, TZ)
    return [(c.name, c.args) for c in _main(plan)]


@pytest.mark.parametrize(
    ("question", "intent", "calls"),
    [
        ("What's the temperature in the warehouse?", "current",
         [("metric_summary", {"metric": "temperature", "location": "warehouse"})]),
        ("how warm is it in the server room", "current",
         [("metric_summary", {"metric": "temperature", "location": "server-room"})]),
        ("humidity in warehouse-b", "current",
         [("metric_summary", {"metric": "humidity", "location": "warehouse-b"})]),
        ("Show me sensor anomalies", "anomalies", [("anomalies", {})]),
        ("any critical alerts today?", "anomalies",
         [("anomalies", {"severity": "critical", "start": "2026-11-26T00:00:00Z",
                         "end": "2026-11-26T14:20:00Z"})]),
        ("List all Pi nodes and their health status", "health", [("node_health", {})]),
        ("is node 6 ok?", "health", [("node_health", {"node": "pi-node-6"})]),
        ("which room is warmest?", "rank", [("metric_summary", {"metric": "temperature"})]),
        ("how many nodes are offline", "count", [("node_health", {})]),
        # nothing named to count: the nodes
        ("how many are there?", "count", [("node_health", {})]),
        # episodes counted over the last day unless a range is asked, the open ones if said
        ("how many anomalies", "count", [("anomalies", {"start": "2026-11-25T14:20:00Z"})]),
        # no countable word right after the cue: flagged readings are anomalies, anomaly
        # episodes are episodes, and the nodes only say where the sensors are
        ("how many of the readings were flagged", "count",
         [("anomalies", {"start": "2026-11-25T14:20:00Z"})]),
        ("how many times were anomaly episodes opened", "count",
         [("anomaly_episodes", {"start": "2026-11-25T14:20:00Z"})]),
        ("how many times did sensors on the nodes report", "count", [("inventory", {})]),
        ("how many anomaly episodes", "count",
         [("anomaly_episodes", {"start": "2026-11-25T14:20:00Z"})]),
        ("how many open episodes are there", "count",
         [("anomaly_episodes", {"start": "2026-11-25T14:20:00Z", "state": "open"})]),
        ("how many critical episodes this week", "count",
         [("anomaly_episodes", {"start": "2026-11-23T00:00:00Z", "end": "2026-11-26T14:20:00Z",
                                "severity": "critical"})]),
        ("how many readings has the co2 sensor sent", "count",
         [("metric_summary", {"metric": "co2"})]),
        ("temperature trend in the office since 9am", "series",
         [("metric_series", {"metric": "temperature", "location": "office",
                             "start": "2026-11-26T09:00:00Z", "end": "2026-11-26T14:20:00Z"})]),
        ("is the office warmer than the garage?", "compare",
         [("metric_summary", {"metric": "temperature", "location": "office"}),
          ("metric_summary", {"metric": "temperature", "location": "garage"})]),
        ("what sensors do you have", "inventory", [("inventory", {})]),
        # a unit that only one metric has names that metric
        ("is it above 30 °C in the garage", "current",
         [("metric_summary", {"metric": "temperature", "location": "garage"})]),
        # raw readings come from one node's reporter: which one, when a place or none is named
        ("show me the raw readings from the office", "raw",
         [("node_health", {"location": "office"})]),
        ("raw data from the reporter", "raw", [("node_health", {})]),
        ("raw readings of pi-node-2 from dht22-1", "raw",
         [("raw_readings", {"node": "pi-node-2", "sensor": "dht22-1"})]),
        # an unknown node or place asked about its health or workloads: the nodes' health
        # tool, with the name as given, lists what exists
        ("what workloads run on pi-node-9", "unknown", [("node_health", {"node": "pi-node-9"})]),
        ("is the attic healthy", "unknown", [("node_health", {"location": "attic"})]),
        ("what's running in the attic", "unknown", [("node_health", {"location": "attic"})]),
        ("hello there", "help", [("inventory", {})]),
    ],
)  # fmt: skip
def test_questions_become_tool_calls(
    question: str, intent: str, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    plan = understand(question, None, VOCAB, NOW, TZ)
    assert plan.intent == intent
    assert [(c.name, c.args) for c in _main(plan)] == calls


def test_diagnosis_gathers_health_numbers_and_anomalies_and_forge_when_there() -> None:
    names = [c.name for c in understand("Why is pi-node-3 under high load?", None, VOCAB, NOW,
                                        TZ).calls]  # fmt: skip
    assert names == [
        "node_health", "metric_summary", "anomalies", "anomaly_episodes",
        "graph_context", "similar_incidents",  # what runs there, past incidents like it
    ]  # fmt: skip
    with_forge = understand("Why is pi-node-3 under high load?", None, VOCAB, NOW, TZ, forge=True)
    assert [c.name for c in with_forge.calls][-1] == "forge_analysis"


@pytest.mark.parametrize(
    ("question", "kind", "name"),
    [
        ("What's the temperature in the kitchen?", "location", "kitchen"),
        ("is pi-node-9 healthy?", "node", "pi-node-9"),
        ("what is the radiation in the office", "metric", "radiation"),
    ],
)
def test_unknown_names_are_passed_on_as_given_never_guessed(
    question: str, kind: str, name: str
) -> None:
    plan = understand(question, None, VOCAB, NOW, TZ)
    assert plan.intent == "unknown"
    assert plan.hints["unknown"] == [kind, name]
    assert plan.calls[0].args[kind] == name


@pytest.mark.parametrize(
    ("question", "said", "meant"),
    [
        ("temperature in the warehous", "warehous", "warehouse"),
        ("srv room pressure", "srv room", "server-room"),
        ("greenhous humidity", "greenhous", "greenhouse"),
    ],
)
def test_a_typo_or_abbreviation_of_a_stored_name_is_read_as_it_and_said(
    question: str, said: str, meant: str
) -> None:
    plan = understand(question, None, VOCAB, NOW, TZ)
    assert plan.calls[0].args["location"] == meant
    assert [said, meant] in plan.hints["corrected"]


@pytest.mark.parametrize(
    ("question", "node"),
    [("why is pi3 so slow", "pi-node-3"), ("whats running on pi5", "pi-node-5"),
     ("pi-node3 cpu", "pi-node-3"), ("is node 6 up", "pi-node-6")],
)  # fmt: skip
def test_a_node_named_by_its_number_is_that_node(question: str, node: str) -> None:
    plan = understand(question, None, VOCAB, NOW, TZ)
    assert plan.calls[0].args["node"] == node


def test_follow_ups_keep_the_focus_and_change_what_they_name() -> None:
    first = understand("What's the temperature in the warehouse?", None, VOCAB, NOW, TZ)
    humidity = understand("and the humidity?", first.focus, VOCAB, NOW, TZ)
    assert _args(humidity) == [{"metric": "humidity", "location": "warehouse"}]
    node = understand("what about pi-node-2?", humidity.focus, VOCAB, NOW, TZ)
    assert _args(node) == [{"metric": "humidity", "node": "pi-node-2"}]
    yesterday = understand("compare with yesterday", node.focus, VOCAB, NOW, TZ)
    assert yesterday.intent == "compare_time"
    assert _args(yesterday)[1] == {
        "metric": "humidity",
        "node": "pi-node-2",
        "start": "2026-11-25T00:00:00Z",
        "end": "2026-11-26T00:00:00Z",
    }
    fahrenheit = understand("and in fahrenheit?", first.focus, VOCAB, NOW, TZ)
    assert fahrenheit.hints["unit"] == "°F"
    assert _args(fahrenheit) == [{"metric": "temperature", "location": "warehouse"}]


def test_a_new_question_does_not_inherit_the_focus() -> None:
    first = understand("What's the temperature in the warehouse?", None, VOCAB, NOW, TZ)
    assert _calls("Show me sensor anomalies", first.focus) == [("anomalies", {})]


def _args(plan: Any) -> list[dict[str, Any]]:
    return [c.args for c in _main(plan)]


def test_several_metrics_or_places_fan_out_to_one_call_each() -> None:
    assert _calls("temperature and humidity in the office?") == [
        ("metric_summary", {"metric": "temperature", "location": "office"}),
        ("metric_summary", {"metric": "humidity", "location": "office"}),
    ]
    assert [a["node"] for _, a in _calls("pi-node-1 and pi-node-2: any anomalies?")] == [
        "pi-node-1",
        "pi-node-2",
    ]


def test_pronouns_are_not_places_and_a_location_narrows_health() -> None:
    assert _calls("Check on pi-node-4 for me: is it responding?") == [
        ("node_health", {"node": "pi-node-4"})
    ]
    assert _calls("what state is the server-room pi in?") == [
        ("node_health", {"location": "server-room"})
    ]


@pytest.mark.parametrize(
    ("question", "calls", "hints"),
    [
        # a ranking within one place ranks its sensors' nodes
        ("which sensor in the office is warmest",
         [("metric_summary", {"metric": "temperature", "location": "office"})],
         {"order": "high", "by": "node"}),
        ("which room has the highest temperature",
         [("metric_summary", {"metric": "temperature"})], {"order": "high", "by": "location"}),
        # both ends asked for
        ("rank the rooms from warmest to coldest",
         [("metric_summary", {"metric": "temperature"})], {"order": "both", "by": "location"}),
        # a Pi's "temperature" may mean its SoC or the room's: the answer says which it read
        ("which pi has the highest temperature",
         [("metric_summary", {"metric": "temperature"})],
         {"order": "high", "by": "node", "clarify": "soc"}),
        # a warmth word about the Pis is their SoC, nothing to clarify
        ("which pi is warmest", [("metric_summary", {"metric": "soc_temp_c"})],
         {"order": "high", "by": "node", "clarify": None}),
    ],
)  # fmt: skip
def test_a_ranking_says_what_it_ranks_and_which_end(
    question: str, calls: list[tuple[str, dict[str, Any]]], hints: dict[str, Any]
) -> None:
    plan = understand(question, None, VOCAB, NOW, TZ)
    assert plan.intent == "rank"
    assert [(c.name, c.args) for c in plan.calls] == calls
    assert {k: plan.hints.get(k) for k in hints} == hints


@pytest.mark.parametrize(
    ("question", "intent", "calls"),
    [
        # a comparison naming a metric but no places ranks every place by it
        ("compare the temperature", "rank", [("metric_summary", {"metric": "temperature"})]),
        # one place: its current value
        ("compare the temperature in the office", "current",
         [("metric_summary", {"metric": "temperature", "location": "office"})]),
        ("compare the office", "current", [("metric_summary", {"location": "office"})]),
    ],
)  # fmt: skip
def test_a_comparison_with_fewer_than_two_places(
    question: str, intent: str, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    plan = understand(question, None, VOCAB, NOW, TZ)
    assert plan.intent == intent
    assert [(c.name, c.args) for c in _main(plan)] == calls


@pytest.mark.parametrize(
    ("question", "intent", "calls", "status"),
    [
        ("anomalies of dht22-1 on pi-node-2", "anomalies",
         [("anomalies", {"node": "pi-node-2", "sensor": "dht22-1"}),
          ("anomaly_episodes", {"node": "pi-node-2", "sensor": "dht22-1"})], None),
        ("any anomalies in the office and the garage", "anomalies",
         [("anomalies", {"location": "office"}), ("anomalies", {"location": "garage"})], None),
        # a metric of the nodes without a status: that metric ranked over them
        ("how's the disk on all the pis", "rank",
         [("metric_summary", {"metric": "disk_percent"})], None),
        ("show the temperature of pi-node-1 and pi-node-2 since 9am", "series",
         [("metric_series", {"metric": "temperature", "node": "pi-node-1",
                             "start": "2026-11-26T09:00:00Z", "end": "2026-11-26T14:20:00Z"}),
          ("metric_series", {"metric": "temperature", "node": "pi-node-2",
                             "start": "2026-11-26T09:00:00Z", "end": "2026-11-26T14:20:00Z"})],
         None),
        ("are pi-node-1 and pi-node-2 ok?", "health",
         [("node_health", {"node": "pi-node-1"}), ("node_health", {"node": "pi-node-2"})], None),
        ("which nodes are critical", "health", [("node_health", {})], "critical"),
        ("what runs in the office", "workloads", [("node_health", {"location": "office"})], None),
        ("what workloads run on pi-node-2", "workloads",
         [("node_health", {"node": "pi-node-2"}), ("workloads", {"node": "pi-node-2"})], None),
    ],
)  # fmt: skip
def test_status_questions_become_calls_per_place_or_node(
    question: str, intent: str, calls: list[tuple[str, dict[str, Any]]], status: str | None
) -> None:
    plan = understand(question, None, VOCAB, NOW, TZ)
    assert plan.intent == intent
    assert [(c.name, c.args) for c in plan.calls] == calls
    assert plan.hints.get("status") == status


def test_tool_times_are_utc_whatever_the_process_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The times passed to tools end in Z: they are UTC even where the host's clock is not."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        plan = understand("temperature in the office since 9am", None, VOCAB, NOW, TZ)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert plan.calls[0].args["start"] == "2026-11-26T09:00:00Z"
    assert plan.calls[0].args["end"] == "2026-11-26T14:20:00Z"


def _thread(*questions: str) -> Any:
    """The plan of the last question, each asked over the focus the one before left."""
    focus: dict[str, Any] | None = None
    plan = None
    for question in questions:
        plan = understand(question, focus, VOCAB, NOW, TZ)
        focus = dict(plan.focus)
    return plan


TODAY = "2026-11-26T00:00:00Z"
YESTERDAY = "2026-11-25T00:00:00Z"
OFFICE_T = {"metric": "temperature", "location": "office"}


@pytest.mark.parametrize(
    ("questions", "intent", "calls", "hints"),
    [
        # the severity and what is counted carry over to a new place
        (("how many critical anomalies today", "and in the office?"), "count",
         [("anomalies", {"location": "office", "start": TODAY, "end": "2026-11-26T14:20:00Z",
                         "severity": "critical"})],
         {"counting": ["anomalies"], "severity": "critical"}),
        # a count of what was just listed counts those
        (("show me anomalies", "how many were critical?"), "count",
         [("anomalies", {"start": "2026-11-25T14:20:00Z", "severity": "critical"})],
         {"counting": ["anomalies"], "severity": "critical"}),
        # "how many are there?" after a list counts what was listed, with its filters
        (("show me critical anomalies today", "how many are there?"), "count",
         [("anomalies", {"start": TODAY, "end": "2026-11-26T14:20:00Z", "severity": "critical"})],
         {"counting": ["anomalies"], "severity": "critical"}),
        (("list the sensors", "how many are there?"), "count", [("inventory", {})],
         {"counting": ["sensors"]}),
        (("which nodes are offline", "and how many?"), "count", [("node_health", {})],
         {"counting": ["nodes"]}),
        # the ranking's count carries over to another metric
        (("top 3 warmest rooms", "and the humidity?"), "rank",
         [("metric_summary", {"metric": "humidity"})], {"limit": 3}),
        # the same range a day earlier: today's hours on the day before
        (("temperature in the office today", "and the day before?"), "current",
         [("metric_summary", {**OFFICE_T, "start": YESTERDAY, "end": "2026-11-25T14:20:00Z"})],
         {"span": {"start": NOW - 86_400 - 14 * 3600 - 20 * 60, "end": NOW - 86_400,
                   "label": "the day before"}}),
        (("temperature in the office yesterday", "and the day before?"), "current",
         [("metric_summary", {**OFFICE_T, "start": "2026-11-24T00:00:00Z", "end": YESTERDAY})],
         {"span": {"start": NOW - 2 * 86_400 - 14 * 3600 - 20 * 60,
                   "end": NOW - 86_400 - 14 * 3600 - 20 * 60,
                   "label": "the day before yesterday"}}),
        # a statistic asked after a value is that statistic of the same series
        (("temperature in the office", "and the average?"), "stats",
         [("metric_summary", OFFICE_T)], {"aggregates": ["mean"]}),
        # a metric asked after help or a unit question is that metric's value
        (("what can you do?", "and the humidity in the office?"), "current",
         [("metric_summary", {"metric": "humidity", "location": "office"})], {}),
        (("what unit is co2 in?", "and the humidity?"), "current",
         [("metric_summary", {"metric": "humidity"})], {}),
        # what is wrong is asked of everything, not of the place before
        (("temperature in the office", "what's wrong?"), "overview",
         [("node_health", {}), ("anomaly_episodes", {"state": "open"}),
          ("anomalies", {"start": "2026-11-25T14:20:00Z"}), ("metric_summary", {})], {}),
        # "the two" are the places just compared
        (("is pi-node-1 busier than pi-node-2?", "which of the two is warmer?"), "compare",
         [("metric_summary", {"metric": "temperature", "node": "pi-node-1"}),
          ("metric_summary", {"metric": "temperature", "node": "pi-node-2"})],
         {"places": [("node", "pi-node-1"), ("node", "pi-node-2")], "order": "high"}),
        # a new place drops the sensor of the old one; a sensor named narrows the place
        (("temperature from dht22-1", "and in the garage?"), "current",
         [("metric_summary", {"metric": "temperature", "location": "garage"})], {}),
        (("temperature in the office", "and from dht22-1?"), "current",
         [("metric_summary", {**OFFICE_T, "sensor": "dht22-1"})], {}),
        # a fragment with nothing before it: its own question, or help when it names nothing
        (("and the humidity in the office?",), "current",
         [("metric_summary", {"metric": "humidity", "location": "office"})], {}),
        (("and then?",), "help", [("inventory", {})], {}),
        # a statistic compared with another period
        (("what was the maximum humidity in the garage today versus yesterday",), "compare_time",
         [("metric_summary", {"metric": "humidity", "location": "garage", "start": TODAY,
                              "end": "2026-11-26T14:20:00Z"}),
          ("metric_summary", {"metric": "humidity", "location": "garage", "start": YESTERDAY,
                              "end": TODAY})], {"periods": ["today", "yesterday"]}),
        (("average temperature in the office today compared with yesterday",), "compare_time",
         [("metric_summary", {**OFFICE_T, "start": TODAY, "end": "2026-11-26T14:20:00Z"}),
          ("metric_summary", {**OFFICE_T, "start": YESTERDAY, "end": TODAY})], {}),
    ],
)  # fmt: skip
def test_a_thread_of_questions(
    questions: tuple[str, ...],
    intent: str,
    calls: list[tuple[str, dict[str, Any]]],
    hints: dict[str, Any],
) -> None:
    plan = _thread(*questions)
    assert plan.intent == intent
    assert [(c.name, c.args) for c in _main(plan)] == calls
    assert {k: plan.hints.get(k) for k in hints} == hints


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("alert me if the garage gets above 30 degrees", "alert_subscribe"),
        ("what's the temperature in the office? and the humidity?", "current"),
        ("we moved the racks. which room is warmest?", "rank"),
    ],
)
def test_the_intent_of_a_questions_first_clause(question: str, intent: str) -> None:
    assert intent_of(question, VOCAB, NOW, TZ) == intent


def test_warm_up_reads_everything_without_a_question() -> None:
    warm_up()
    assert intent_of("which room is warmest?", VOCAB, NOW, TZ) == "rank"


def test_extract_names_what_the_catalog_knows() -> None:
    mentions = extract("temperature of dht22-1 in the office", VOCAB)
    assert (mentions.metrics, mentions.locations, mentions.sensors) == (
        ["temperature"],
        ["office"],
        ["dht22-1"],
    )


def test_a_turn_reads_each_clause_once_and_understands_it_the_same() -> None:
    question = "temperature in the office since 9am? and the humidity"
    reading = TurnReading(VOCAB, NOW)
    assert intent_of(question, VOCAB, NOW, TZ, reading) == "current"
    first = dict(reading.slots)
    assert list(first) == ["temperature in the office since 9am?"]
    with_reading = understand(question, None, VOCAB, NOW, TZ, reading=reading)
    assert with_reading == understand(question, None, VOCAB, NOW, TZ)
    assert with_reading.calls[0].args["start"] == "2026-11-26T09:00:00Z"
    # the first clause's slots are the ones read before, not read again
    assert (
        reading.slots["temperature in the office since 9am?"]
        is first["temperature in the office since 9am?"]
    )
    assert len(reading.slots) == 2
    assert len(reading.scores) == 2


def test_a_reading_of_another_moment_or_vocabulary_is_not_used() -> None:
    for reading in (TurnReading(VOCAB, NOW - 3600), TurnReading(Vocabulary(), NOW)):
        plan = understand("temperature in the office since 9am", None, VOCAB, NOW, TZ,
                          reading=reading)  # fmt: skip
        assert plan == understand("temperature in the office since 9am", None, VOCAB, NOW, TZ)
        assert reading.slots == {}


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        # at most three questions: the rest go with the third
        ("what is the temperature? what is the humidity? what is the co2? what is the pressure?",
         ["what is the temperature?", "what is the humidity?",
          "what is the co2? what is the pressure?"]),
        # a statement before a question sets it up
        ("we moved racks. which room is warmest?", ["we moved racks. which room is warmest?"]),
        ("hello", ["hello"]),
    ],
)  # fmt: skip
def test_a_question_is_cut_into_the_questions_it_asks(question: str, parts: list[str]) -> None:
    assert clauses(question) == parts


@pytest.mark.parametrize(
    ("clause", "asking"),
    [
        # a statement after the asking sentence is an afterthought, read for slots only
        ("show me the temperature in the office. we are writing a report.",
         "show me the temperature in the office."),
        ("I need the lowest pressure. Can you find it? It is for a report.",
         "I need the lowest pressure. Can you find it?"),
        ("which room is warmest?", "which room is warmest?"),
    ],
)  # fmt: skip
def test_the_intent_is_read_up_to_the_last_asking_sentence(clause: str, asking: str) -> None:
    assert asking_part(clause) == asking


@pytest.mark.parametrize(
    ("question", "metrics"),
    [
        ("soil_ph in the greenhouse", ["soil_ph"]),
        ("soil ph in the greenhouse", ["soil_ph"]),
        ("temperature and soil_ph in the greenhouse", ["temperature", "soil_ph"]),
    ],
)
def test_a_stored_metric_the_lexicon_lacks_is_named_by_its_own_name(
    question: str, metrics: list[str]
) -> None:
    vocab = Vocabulary(locations=("greenhouse",), metrics=("soil_ph", "temperature"))
    assert extract(question, vocab).metrics == metrics


def test_the_clause_read_for_its_intent_is_read_in_the_askers_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    reading = TurnReading(VOCAB, NOW)
    assert intent_of("temperature in the office since 9am", VOCAB, NOW, tokyo, reading) == "current"
    [slots] = reading.slots.values()
    nine = datetime(2026, 11, 26, 9, tzinfo=tokyo).timestamp()
    assert slots.span is not None
    assert slots.span["start"] == nine
