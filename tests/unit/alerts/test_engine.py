"""The rule state machine: holds, hysteresis, crossings inside aggregates, gaps, rates."""

from __future__ import annotations

import pytest

from agent_bruno.alerts.engine import (
    EpisodeEvent,
    Observation,
    State,
    step_condition,
    step_episode,
    step_rate,
    step_threshold,
)
from agent_bruno.alerts.model import EpisodeRule, RateRule, ThresholdRule

T0 = 1_764_000_000.0


def agg(i: int, lo: float, hi: float, last: float | None = None) -> Observation:
    """The i-th 5-minute aggregate."""
    start = T0 + 300 * i
    return Observation(start, start + 300, lo, hi, hi if last is None else last)


def run(rule: ThresholdRule, observations: list[Observation]) -> list[tuple[str, float]]:
    st = State()
    out = []
    for obs in observations:
        change = step_threshold(rule, st, obs)
        if change is not None:
            out.append((change.status, change.at))
    return out


BELOW_30 = ThresholdRule(metric="humidity", op="below", value=30, hysteresis=2, unit="%")


@pytest.mark.parametrize(
    ("observations", "expected"),
    [
        # Whole window below: fires at the window's end.
        ([agg(0, 40, 45), agg(1, 28, 29)], [("firing", T0 + 600)]),
        # A dip inside a window, caught from its min (hold 0).
        ([agg(0, 29.5, 41, last=40)], [("firing", T0 + 300)]),
        # Never crosses.
        ([agg(0, 30, 40), agg(1, 31, 35)], []),
    ],
)
def test_threshold_fires(
    observations: list[Observation], expected: list[tuple[str, float]]
) -> None:
    assert run(BELOW_30, observations) == expected


def test_hovering_at_the_line_does_not_flap() -> None:
    """Regression: a value going 29.9 / 30.1 / 29.8 / 30.2 fires once and stays firing until it
    is back above the hysteresis line (32 %), then resolves once."""
    values = [29.9, 30.1, 29.8, 30.2, 29.9, 31.5, 32.5, 33.0]
    observations = [Observation.point(T0 + 60 * i, v) for i, v in enumerate(values)]
    assert run(BELOW_30, observations) == [("firing", T0), ("resolved", T0 + 60 * 6)]


def test_resolve_needs_the_whole_window_back_past_the_band() -> None:
    obs = [agg(0, 28, 29), agg(1, 29, 33, last=33), agg(2, 32.5, 34)]
    assert run(BELOW_30, obs) == [("firing", T0 + 300), ("resolved", T0 + 900)]


HELD = BELOW_30.model_copy(update={"hold_s": 600})


@pytest.mark.parametrize(
    ("observations", "expected"),
    [
        # 10 minutes wholly below: fires at the end of the second window.
        ([agg(0, 28, 29), agg(1, 27, 29)], [("firing", T0 + 600)]),
        # One window below, then back: the hold is not met.
        ([agg(0, 28, 29), agg(1, 31, 40), agg(2, 28, 29)], []),
        # A dip shorter than a window never starts a hold.
        ([agg(0, 29, 40, last=35), agg(1, 29, 40, last=35), agg(2, 29, 40, last=35)], []),
        # A window that ends below starts the hold at its end.
        ([agg(0, 29, 40, last=29), agg(1, 28, 29), agg(2, 28, 29)], [("firing", T0 + 900)]),
    ],
)
def test_hold(observations: list[Observation], expected: list[tuple[str, float]]) -> None:
    assert run(HELD, observations) == expected


def test_silence_neither_fires_nor_resolves() -> None:
    """A gap in the data restarts a hold; a firing alert stays firing through a gap."""
    st = State()
    assert step_threshold(HELD, st, agg(0, 28, 29)) is None
    assert st.status == "pending"
    # 30 minutes without data, then one window below: the hold starts again.
    assert step_threshold(HELD, st, agg(7, 28, 29)) is None
    assert st.since == T0 + 300 * 7
    fired = step_threshold(HELD, st, agg(8, 28, 29))
    assert fired is not None
    assert fired.status == "firing"
    assert step_threshold(HELD, st, agg(20, 28, 29)) is None
    assert st.status == "firing"


def test_old_and_repeated_observations_are_ignored() -> None:
    st = State()
    assert step_threshold(BELOW_30, st, agg(2, 28, 29)) is not None
    assert step_threshold(BELOW_30, st, agg(1, 40, 45)) is None  # older: not a resolve
    assert step_threshold(BELOW_30, st, agg(2, 40, 45)) is None  # the same window again
    assert st.status == "firing"


def test_above_rule_with_peak() -> None:
    rule = ThresholdRule(metric="co2", op="above", value=1000, hysteresis=50, unit="ppm")
    st = State()
    fired = step_threshold(rule, st, agg(0, 900, 1100))
    assert fired is not None
    assert fired.value == 1100
    step_threshold(rule, st, agg(1, 1000, 1400))
    assert st.peak == 1400
    resolved = step_threshold(rule, st, agg(2, 800, 940))
    assert resolved is not None
    assert resolved.status == "resolved"
    assert resolved.peak == 1400


WARMS_3 = RateRule(metric="temperature", direction="rise", delta=3, window_s=600, unit="°C")


@pytest.mark.parametrize(
    ("windows", "fires_at"),
    [
        ([(20, 21), (21, 22), (23, 24.5)], 2),  # 20 → 24.5 within the window
        ([(20, 21), (21, 22), (22, 23)], None),  # 3 °C exactly is not more than 3
        # 4.5 °C in all, but slowly: never 3 °C within 10 minutes.
        ([(18, 18.5), (19, 19.5), (20, 20.5), (21, 21.5), (22, 22.5)], None),
    ],
)
def test_rate(windows: list[tuple[float, float]], fires_at: int | None) -> None:
    st = State()
    fired = None
    for i, (lo, hi) in enumerate(windows):
        change = step_rate(WARMS_3, st, agg(i, lo, hi))
        if change is not None and change.status == "firing":
            fired = i
    assert fired == fires_at


def test_rate_resolves_once_the_change_is_over() -> None:
    st = State()
    for i, (lo, hi) in enumerate([(20, 21), (24, 25)]):
        step_rate(WARMS_3, st, agg(i, lo, hi))
    assert st.status == "firing"
    for i in range(2, 6):
        step_rate(WARMS_3, st, agg(i, 24.8, 25))
    assert st.status == "inactive"


def test_condition() -> None:
    st = State()
    assert step_condition(st, False, T0, None) is None
    fired = step_condition(st, True, T0 + 1, None)
    assert fired is not None
    assert fired.status == "firing"
    assert step_condition(st, True, T0 + 2, None) is None
    resolved = step_condition(st, False, T0 + 3, None)
    assert resolved is not None
    assert resolved.status == "resolved"
    assert resolved.since == T0 + 1


def ep(
    phase: str, ts: float, severity: str = "critical", kind: str = "process_anomaly"
) -> EpisodeEvent:
    return EpisodeEvent("e1", phase, ts, severity, kind, 1.0, "why")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "events", "expected"),
    [
        (EpisodeRule(), [ep("open", 1), ep("close", 9)], ["firing", "resolved"]),
        (EpisodeRule(), [ep("open", 1, "warning"), ep("close", 9, "warning")], []),
        # A warning episode that turns critical fires on the update.
        (EpisodeRule(), [ep("open", 1, "warning"), ep("update", 2), ep("close", 9)],
         ["firing", "resolved"]),
        (EpisodeRule(episode_kind="sensor_fault"), [ep("open", 1), ep("close", 9)], []),
        (EpisodeRule(min_severity="warning"), [ep("open", 1, "warning")], ["firing"]),
    ],
)  # fmt: skip
def test_episode(rule: EpisodeRule, events: list[EpisodeEvent], expected: list[str]) -> None:
    st = State()
    got = [c.status for e in events if (c := step_episode(rule, st, e)) is not None]
    assert got == expected
