"""Pure node health: healthy, warning, offline, with reasons."""

from __future__ import annotations

from typing import Any

import pytest

from agent_bruno.health import Beat, Thresholds, assess

NOW = 1_000_000.0
OFF = "more than 3× its 300 s interval"
OFF_10 = "last heartbeat 31 s ago, more than 3× its 10 s interval"
GROWING = "outbox growing: 60 → 80 events pending"
HOT = {"cpu_percent": 99}
CALM = {"cpu_percent": 10.0, "memory_percent": 40.0, "disk_percent": 50.0, "soc_temp_c": 45.0}


def beat(age: float = 10.0, interval: float = 300.0, **kw: Any) -> Beat:
    """A heartbeat `age` seconds old."""
    health = {**CALM, **kw.pop("health", {})}
    values: dict[str, Any] = {
        "outbox_depth": 0, "outbox_dropped": 0, "previous_outbox_depth": None, **kw
    }  # fmt: skip
    return Beat(last_seen=NOW - age, interval_s=interval, health=health, **values)


@pytest.mark.parametrize(
    ("b", "status", "reasons"),
    [
        (beat(), "healthy", ()),
        (beat(age=899), "healthy", ()),
        (beat(age=900), "healthy", ()),  # exactly 3 intervals: not yet offline
        (beat(age=901), "offline", (f"last heartbeat 901 s ago, {OFF}",)),
        (beat(age=31, interval=10), "offline", (OFF_10,)),
        (beat(health={"cpu_percent": 95.5}), "warning", ("CPU 95.5% above 90%",)),
        (beat(health={"memory_percent": 91}), "warning", ("memory 91% above 90%",)),
        (beat(health={"disk_percent": 99}), "warning", ("disk 99% above 90%",)),
        (beat(health={"soc_temp_c": 76}), "warning", ("SoC temperature 76 °C above 75 °C",)),
        (beat(health={"soc_temp_c": None}), "healthy", ()),
        (beat(health={"cpu_percent": 90.0}), "healthy", ()),
        (beat(outbox_dropped=3), "warning", ("outbox dropped 3 events",)),
        (beat(outbox_depth=80, previous_outbox_depth=60), "warning", (GROWING,)),
        (beat(outbox_depth=80, previous_outbox_depth=90), "healthy", ()),
        (beat(outbox_depth=10, previous_outbox_depth=5), "healthy", ()),
        (beat(outbox_depth=80), "healthy", ()),
        (beat(outbox_depth=80, previous_outbox_depth=80), "healthy", ()),  # steady, not growing
        (beat(outbox_depth=50, previous_outbox_depth=40), "warning",
         ("outbox growing: 40 → 50 events pending",)),  # at the threshold counts
        (beat(clock_offset_s=45.4), "warning",
         ("clock 45 s ahead of the agent's (timestamps corrected at ingest)",)),
        (beat(clock_offset_s=-0.6 - 30), "warning",
         ("clock 31 s behind the agent's (timestamps corrected at ingest)",)),
        (beat(clock_offset_s=30.0), "healthy", ()),  # at the bound: fine
        (beat(clock_offset_s=-30.0), "healthy", ()),
        (beat(clock_offset_s=None), "healthy", ()),  # not known yet
        (
            beat(health={"cpu_percent": 99, "disk_percent": 95}, outbox_dropped=1),
            "warning",
            ("CPU 99% above 90%", "disk 95% above 90%", "outbox dropped 1 event"),
        ),
        (beat(age=999, health=HOT), "offline", (f"last heartbeat 999 s ago, {OFF}",)),
    ],
)  # fmt: skip
def test_assess(b, status, reasons):
    verdict = assess(b, NOW, Thresholds())
    assert verdict.status == status
    assert verdict.reasons == reasons


def test_thresholds_are_configurable():
    strict = Thresholds(cpu_percent=5.0, offline_after_intervals=1.0)
    assert assess(beat(), NOW, strict).reasons == ("CPU 10% above 5%",)
    assert assess(beat(age=301), NOW, strict).status == "offline"
