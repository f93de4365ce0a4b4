"""Edges of understanding the other tests left open: names written loosely (typos, other
separators, the word order of a question), follow-ups with and without a thread, clock
wording at its limits, incidents naming two places, and the plan's JSON in a fresh process."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.agent.nlu import plan as plan_module
from agent_bruno.agent.nlu import spelling as spelling_module
from agent_bruno.agent.nlu.extract import extract
from agent_bruno.agent.nlu.incidents import parse_report
from agent_bruno.agent.nlu.lexicon import lexicon
from agent_bruno.agent.nlu.plan import row_dict
from agent_bruno.agent.nlu.spelling import correct, spelling
from agent_bruno.agent.nlu.timeexpr import find_time_span
from agent_bruno.agent.nlu.timespans import parse_clock
from agent_bruno.agent.nlu.understand import understand
from agent_bruno.agent.nlu.vocabulary import Vocabulary

NOW = datetime(2026, 11, 26, 14, 20, tzinfo=UTC).timestamp()
TZ = ZoneInfo("UTC")
VOCAB = Vocabulary(
    locations=("garage", "greenhouse", "office", "server-room", "warehouse", "warehouse-b"),
    nodes=tuple(f"pi-node-{i}" for i in range(1, 7)),
    sensors=("bmp280-1", "dht22-1", "mhz19-1", "node", "pir-1"),
    metrics=("co2", "cpu_percent", "humidity", "load_1m", "temperature"),
)


def _thread(*questions: str) -> list[Any]:
    """The plans of a conversation, each question asked over the focus the one before left."""
    focus: dict[str, Any] | None = None
    plans = []
    for q in questions:
        plan = understand(q, focus, VOCAB, NOW, TZ)
        focus = dict(plan.focus)
        plans.append(plan)
    return plans


def _calls(plan: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, c.args) for c in plan.calls]


# --- names written loosely -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "location", "said"),
    [
        # a word before the name that cannot join it ("temperature," then "server rm")
        ("temperature, server rm", "server-room", "server rm"),
        # a four-letter typo of one part beside the other part said exactly
        ("humidity at the sver room", "server-room", "sver room"),
        # a typo that is no abbreviation: letters swapped, or four in order without the first
        ("humidity at the sevrer room", "server-room", "sevrer room"),
        ("humidity at the rver room", "server-room", "rver room"),
        # a one-word typo anywhere in the question, not only at its end
        ("how warm is the warehous today", "warehouse", "warehous"),
        ("is the offfice warm now or not", "office", "offfice"),
    ],
)
def test_a_location_written_loosely_is_read_as_the_stored_one(text, location, said):
    mentions = extract(text, VOCAB)
    assert mentions.locations == [location]
    assert mentions.corrected == [(said, location)]


def test_a_location_run_together_is_read_as_the_stored_one():
    # a vocabulary of its own: the name index is built once per vocabulary and kept
    vocab = Vocabulary(locations=("garage", "server-room"), metrics=("temperature",))
    mentions = extract("temperature in the serverrom", vocab)
    assert (mentions.locations, mentions.corrected) == (
        ["server-room"],
        [("serverrom", "server-room")],
    )


def test_the_parts_of_a_name_split_by_a_sentence_are_not_that_name():
    # "server" ends one sentence, "room" starts a statement: not the server room
    mentions = extract("how hot is the server? room temps are fine", VOCAB)
    assert "server-room" not in mentions.locations
    assert mentions.corrected == []


def test_a_generic_place_word_is_not_a_typo_of_a_stored_name():
    # "house" is a word of the lexicon's not-places, "studio" a place noun: neither is read as
    # the stored place it is one letter from
    vocab = Vocabulary(locations=("houses", "studio-a"), metrics=("temperature",))
    assert extract("how warm is the house", vocab).locations == []
    studio = extract("how warm is the studio", vocab)
    assert studio.locations == []
    assert studio.corrected == []


def test_the_hottest_cpu_is_its_soc_and_other_metrics_stay_themselves():
    mentions = extract("hottest cpu and humidity", VOCAB)
    assert mentions.metrics == ["soc_temp_c", "humidity"]


def test_an_unstored_quantity_with_a_level_is_unknown_by_its_name():
    mentions = extract("what is the noise level in the office", VOCAB)
    assert mentions.unknown[0].kind == "metric"
    assert mentions.unknown[0].name == "noise"


def test_an_unstored_metric_word_before_level_is_unknown_by_its_words():
    (plan,) = _thread("what is the flux level in the office")
    assert plan.intent == "unknown"
    assert plan.hints["unknown"] == ["metric", "flux level"]
    assert _calls(plan) == [("metric_summary", {"location": "office", "metric": "flux level"})]


def test_a_unit_beside_an_unstored_metric_does_not_make_it_that_unit_s_metric():
    # "above 30 °C" would imply the temperature, but the flux was asked: a follow-up moving to
    # another place does not carry a temperature on
    flux, garage = _thread("is the flux level above 30 °C", "and in the garage?")
    assert flux.intent == "unknown"
    assert flux.focus["metrics"] == []
    assert _calls(garage)[0] == ("metric_summary", {"location": "garage"})


def test_a_place_noun_with_room_after_it_is_unknown_as_said():
    mentions = extract("humidity for the lab room", VOCAB)
    assert [(u.kind, u.name) for u in mentions.unknown] == [("location", "lab room")]


@pytest.fixture
def fresh_spelling():
    caches = (spelling, spelling_module._correction, lexicon)
    for c in caches:
        c.cache_clear()
    yield
    for c in caches:
        c.cache_clear()


def test_a_sensor_named_like_a_typo_is_not_corrected(fresh_spelling):
    vocab = Vocabulary(locations=("garage",), sensors=("sensir",), metrics=("temperature",))
    assert correct("readings of sensir", vocab) == ("readings of sensir", [])


# --- follow-ups ----------------------------------------------------------------------------


def test_how_many_after_a_list_of_anomalies_counts_those_anomalies():
    _, count = _thread("show me the anomalies", "how many?")
    assert count.intent == "count"
    assert _calls(count) == [("anomalies", {"start": "2026-11-25T14:20:00Z"})]


def test_an_overview_or_unsupported_request_does_not_carry_the_place_on():
    for middle in ("give me an overview of it", "turn off the heater there"):
        *_, humidity = _thread("temperature in the office", middle, "and the humidity?")
        assert _calls(humidity)[0] == ("metric_summary", {"metric": "humidity"}), middle


def test_a_fragment_with_nothing_to_follow_and_a_place_is_a_question_of_its_own():
    (plan,) = _thread("we are moving racks around in the garage.")
    assert plan.intent == "current"
    assert _calls(plan)[0] == ("metric_summary", {"location": "garage"})


def test_a_fragment_naming_a_place_with_nothing_to_follow_keeps_its_own_reading():
    # no thread: "and the office average today." is a statistic, "the garage vs the office" a
    # comparison, not the latest values the fragment reading would give
    (stats,) = _thread("and the office average today.")
    assert stats.intent == "stats"
    assert _calls(stats) == [
        (
            "metric_summary",
            {"location": "office", "start": "2026-11-26T00:00:00Z", "end": "2026-11-26T14:20:00Z"},
        )
    ]
    (versus,) = _thread("and the garage vs the office.")
    assert versus.intent == "compare"
    assert _calls(versus) == [
        ("metric_summary", {"location": "garage"}),
        ("metric_summary", {"location": "office"}),
    ]


def test_how_many_after_a_list_counts_what_was_listed_with_its_severity():
    _, count = _thread("list the critical anomalies", "how many?")
    assert _calls(count) == [
        ("anomalies", {"severity": "critical", "start": "2026-11-25T14:20:00Z"})
    ]


def test_a_count_moved_to_another_day_keeps_what_it_counted():
    _, yesterday = _thread("how many critical anomalies today", "and how many yesterday?")
    assert _calls(yesterday) == [
        (
            "anomalies",
            {
                "start": "2026-11-25T00:00:00Z",
                "end": "2026-11-26T00:00:00Z",
                "severity": "critical",
            },
        )
    ]
    _, again = _thread("how many sensors", "how many?")
    assert _calls(again) == [("inventory", {})]
    assert again.focus["counting"] == ["sensors"]


def test_the_two_named_in_the_question_are_not_a_follow_up():
    # the places are named in the question itself: asked now, not over the day before
    _, warmer = _thread(
        "temperature in the office yesterday",
        "which of the two is warmer, the garage or the greenhouse?",
    )
    assert _calls(warmer) == [
        ("metric_summary", {"location": "garage", "metric": "temperature"}),
        ("metric_summary", {"location": "greenhouse", "metric": "temperature"}),
    ]


@pytest.mark.parametrize(
    "question", ["mean cpu of the nodes today", "average temperature of the nodes"]
)
def test_an_average_over_the_nodes_is_a_statistic_not_a_ranking(question):
    (plan,) = _thread(question)
    assert plan.intent == "stats"


# --- clocks and incidents ------------------------------------------------------------------


def test_an_afternoon_range_with_a_24_hour_end_keeps_that_end():
    found = find_time_span("between 13:00 and 14:00 this afternoon", NOW, TZ)
    assert found is not None
    assert (found.span.start, found.span.end) == (
        datetime(2026, 11, 26, 13, tzinfo=UTC).timestamp(),
        datetime(2026, 11, 26, 14, tzinfo=UTC).timestamp(),
    )


def test_minute_sixty_is_not_a_clock():
    assert parse_clock("13:59") == (13, 59)
    assert parse_clock("13:60") is None


def test_a_hour_is_one_hour():
    # "a" alone, as in the slip "a hour ago", is one
    found = find_time_span("temperature a hour ago", NOW, TZ)
    assert found is not None
    assert (found.span.start, found.span.end, found.span.label) == (
        NOW - 3600,
        NOW,
        "the last hour",
    )


def test_an_incident_clock_more_than_a_minute_ahead_is_yesterdays():
    # asked half a second before 14:20: 14:21 is 60.5 s ahead, so the one of yesterday
    asked = datetime(2026, 11, 26, 14, 19, 59, 500_000, tzinfo=UTC).timestamp()
    report = parse_report("the 14:21 spike in the office was the heater", asked, TZ, ["office"])
    assert report is not None
    assert report.at == datetime(2026, 11, 25, 14, 21, tzinfo=UTC).timestamp()


def test_an_incident_naming_two_places_is_placed_in_the_longer_name():
    places = ["office", "greenhouse"]
    report = parse_report(
        "the spike in the greenhouse by the office door was a fan", NOW, TZ, places
    )
    assert report is not None
    assert report.location == "greenhouse"


# --- the plan's JSON -----------------------------------------------------------------------


def test_row_dict_in_a_fresh_process_names_every_field(monkeypatch):
    # the field names are cached per class: an empty cache is what a new process starts with
    monkeypatch.setattr(plan_module, "_FIELDS", {})
    plan = understand("temperature in the office", None, VOCAB, NOW, TZ)
    call = plan.calls[0]
    assert row_dict(call) == asdict(call) == {"name": "metric_summary", "args": call.args}
    assert row_dict(plan) == asdict(plan)
