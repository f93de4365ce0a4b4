"""Readings the reporter judged sensor faults stay out of summaries, series and rankings by
default, are still stored, and come back with `include_faults`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from agent_bruno.agent.compose.faults import faults_note
from agent_bruno.agent.compose.fmt import Formatter
from agent_bruno.storage.base import EventsWrite, SeriesQuery
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.wire import EVENT_ADAPTER
from tests.unit.agent.helpers import API_TOKEN, NODE1_TOKEN, NOW, aggregate, auth, envelope

GLITCH = {
    "min": 21.0, "max": 89.0, "mean": 34.6, "last": 21.4, "count": 5,
    "clean": {"count": 4, "min": 21.0, "max": 21.4, "mean": 21.0, "last": 21.4},
    "faults": {"count": 1, "min": 89.0, "max": 89.0, "mean": 89.0, "last": 89.0,
               "min_ts": NOW + 322.0, "max_ts": NOW + 322.0},
}  # fmt: skip


def temperature(i: int, start: float, **extra: Any) -> dict[str, Any]:
    values = {"min": 20.8, "max": 21.2, "mean": 21.0, "last": 21.1}
    return aggregate(i, start=start, metric="temperature", unit="°C", **{**values, **extra})


def events() -> list[dict[str, Any]]:
    """Three windows of a warehouse DHT22, the second with a glitch to 89 °C."""
    return [temperature(0, NOW), temperature(1, NOW + 300, **GLITCH), temperature(2, NOW + 600)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStorage]:
    s = SqliteStorage(tmp_path / "db.sqlite")
    s.open_writer()
    parsed = [EVENT_ADAPTER.validate_python(e) for e in events()]
    (outcome,) = s.apply_batch([EventsWrite("homelab", "pi-node-1", "warehouse", parsed, NOW)])
    assert not isinstance(outcome, Exception), outcome
    yield s
    s.close_writer()
    s.close()


def test_summaries_leave_faults_out_and_say_so(store: SqliteStorage) -> None:
    (s,) = store.summarize(SeriesQuery(NOW, NOW + 900, 300, metric="temperature"))
    assert (s.count, s.max, s.min) == (14, 21.4, 20.8)
    assert s.faults is not None
    assert (s.faults.count, s.faults.max, s.faults.max_ts) == (1, 89.0, NOW + 322.0)
    assert s.faults_included is False
    (everything,) = store.summarize(
        SeriesQuery(NOW, NOW + 900, 300, metric="temperature", include_faults=True)
    )
    assert (everything.count, everything.max, everything.faults_included) == (15, 89.0, True)
    assert everything.mean == pytest.approx((5 * 21.0 + 4 * 21.0 + 89.0 + 5 * 21.0) / 15)


def test_long_ranges_leave_faults_out_too(store: SqliteStorage) -> None:
    (s,) = store.summarize(SeriesQuery(NOW - 86_400, NOW + 86_400, 300, metric="temperature"))
    assert s.max == 21.4
    assert s.faults is not None


def test_series_points_leave_faults_out_unless_asked(store: SqliteStorage) -> None:
    (series,) = store.query_series(SeriesQuery(NOW, NOW + 900, 300, metric="temperature"))
    assert [p.max for p in series.points] == [21.2, 21.4, 21.2]
    assert series.faults is not None
    assert series.faults.count == 1
    (series,) = store.query_series(
        SeriesQuery(NOW, NOW + 3600, 3600, metric="temperature", include_faults=True)
    )
    assert [(p.count, p.max) for p in series.points] == [(15, 89.0)]


def test_a_window_of_faults_only_adds_nothing_to_the_statistics(tmp_path: Path) -> None:
    s = SqliteStorage(tmp_path / "db.sqlite")
    s.open_writer()
    try:
        stuck = temperature(
            9, NOW, min=48.0, max=48.0, mean=48.0, last=48.0, clean=None,
            faults={"count": 5, "min": 48.0, "max": 48.0, "mean": 48.0, "last": 48.0},
        )  # fmt: skip
        parsed = [EVENT_ADAPTER.validate_python(e) for e in (stuck, temperature(1, NOW + 300))]
        s.apply_batch([EventsWrite("homelab", "pi-node-1", "warehouse", parsed, NOW)])
        (summary,) = s.summarize(SeriesQuery(NOW, NOW + 600, 300, metric="temperature"))
        assert (summary.count, summary.max) == (5, 21.2)
        assert summary.faults is not None
        assert summary.faults.count == 5
    finally:
        s.close_writer()
        s.close()


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (
            {"faults": GLITCH["faults"], "clean": None},
            r"clean count 0 \+ faults count 1 != count 5",
        ),
        ({"clean": GLITCH["clean"]}, "clean is given without faults"),
        ({**GLITCH, "clean": {**GLITCH["clean"], "mean": 30.0}}, "mean 30.0 is outside"),
    ],
)
def test_aggregate_parts_must_add_up(change: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        EVENT_ADAPTER.validate_python(temperature(1, NOW, **change))


async def test_the_series_api_excludes_faults_and_takes_include_faults(client: Any) -> None:
    r = await client.post("/v1/events", json=envelope(events()), headers=auth(NODE1_TOKEN))
    assert r.json()["accepted"] == 3
    params = {"metric": "temperature", "start": str(NOW), "end": str(NOW + 900), "step": "900"}
    headers = auth(API_TOKEN)
    (series,) = (await client.get("/v1/series", params=params, headers=headers)).json()["series"]
    assert series["points"][0]["max"] == 21.4
    assert series["faults"]["max"] == 89.0
    assert series["faults_included"] is False
    params["include_faults"] = "true"
    (series,) = (await client.get("/v1/series", params=params, headers=headers)).json()["series"]
    assert series["points"][0]["max"] == 89.0
    params["include_faults"] = "maybe"
    r = await client.get("/v1/series", params=params, headers=headers)
    assert r.status_code == 422
    assert r.json()["parameter"] == "include_faults"


def test_answers_say_what_was_excluded() -> None:
    f = Formatter(NOW, UTC)
    s = {"unit": "°C", "metric": "temperature", "min": 20.8, "max": 21.4, "count": 14,
         "faults": {"count": 1, "min": 89.0, "max": 89.0, "min_ts": NOW + 322.0,
                    "max_ts": NOW + 322.0}, "faults_included": False}  # fmt: skip
    clock = f.clock(NOW + 322.0)
    assert faults_note(f, s) == f"; excluding a sensor glitch of 89.0 °C at {clock}"
    assert faults_note(f, {**s, "faults_included": True}).startswith("; including a sensor glitch")
    stuck = {**s, "faults": {"count": 5, "min": 48.0, "max": 48.0}}
    assert faults_note(f, stuck) == "; excluding 5 sensor-fault readings (48.0 °C)"
    assert faults_note(f, {**s, "faults": None}) == ""


# A DHT22's failed read decodes as 0xFFFF / 10: 6553.5 %, past what humidity can be. Triage
# takes it for a sensor fault (beyond the sensor's limit) and the reporter sends it apart.
BAD_READ = {
    "min": 40.1, "max": 6553.5, "mean": 1343.2, "last": 40.9, "count": 5,
    "clean": {"count": 4, "min": 40.1, "max": 41.0, "mean": 40.625, "last": 40.9},
    "faults": {"count": 1, "min": 6553.5, "max": 6553.5, "mean": 6553.5, "last": 6553.5,
               "min_ts": NOW + 130.0, "max_ts": NOW + 130.0},
}  # fmt: skip


async def test_ingest_refused_a_whole_aggregate_for_implausible_values_in_its_faults(
    client: Any,
) -> None:
    """Regression: an aggregate whose only implausible values were its sensor faults was
    refused whole ("outside what humidity can physically be"), losing its four good readings.
    Now the clean part goes into the statistics and the fault is kept as a fault."""
    batch = envelope([aggregate(1, NOW, **BAD_READ), aggregate(2, NOW + 300)])
    r = await client.post("/v1/events", json=batch, headers=auth(NODE1_TOKEN))
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    params = {"metric": "humidity", "start": str(NOW), "end": str(NOW + 600), "step": "600"}
    headers = auth(API_TOKEN)
    (series,) = (await client.get("/v1/series", params=params, headers=headers)).json()["series"]
    assert [(p["count"], p["max"]) for p in series["points"]] == [(9, 41.0)]
    assert (series["faults"]["count"], series["faults"]["max"]) == (1, 6553.5)
    params["include_faults"] = "true"
    (series,) = (await client.get("/v1/series", params=params, headers=headers)).json()["series"]
    assert [(p["count"], p["max"]) for p in series["points"]] == [(10, 6553.5)]


async def test_faults_no_sum_can_hold_are_left_out_and_named(client: Any) -> None:
    huge = {**BAD_READ, "max": 1e27, "mean": 2e26,
            "faults": {**BAD_READ["faults"], "min": 1e27, "max": 1e27, "mean": 1e27,
                       "last": 1e27}}  # fmt: skip
    r = await client.post("/v1/events", json=envelope([aggregate(1, NOW, **huge)]),
                          headers=auth(NODE1_TOKEN))  # fmt: skip
    body = r.json()
    assert body["accepted"] == 1
    (note,) = body["rejected"]
    assert note["id"] == "a-1"
    assert "1 sensor-fault readings were not stored (value 1e+27 % is beyond" in note["error"]
    assert "its 4 other readings were" in note["error"]
    params = {"metric": "humidity", "start": str(NOW), "end": str(NOW + 300), "step": "300",
              "include_faults": "true"}  # fmt: skip
    (series,) = (await client.get("/v1/series", params=params, headers=auth(API_TOKEN))).json()[
        "series"
    ]
    assert [(p["count"], p["max"]) for p in series["points"]] == [(4, 41.0)]


async def test_an_implausible_clean_part_still_refuses_the_aggregate(client: Any) -> None:
    wrong = {**BAD_READ, "clean": {**BAD_READ["clean"], "max": 140.0, "mean": 65.0}}
    r = await client.post("/v1/events", json=envelope([aggregate(1, NOW, **wrong)]),
                          headers=auth(NODE1_TOKEN))  # fmt: skip
    body = r.json()
    assert body["accepted"] == 0
    (refused,) = body["rejected"]
    assert "value 140 % is outside what humidity can physically be" in refused["error"]
