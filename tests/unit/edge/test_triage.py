"""Triage verdicts: the statistical score, the rules and their reasons."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from edge_reporter.model import Kind, Severity
from edge_reporter.sensors.descriptions import DHT22, PIR
from edge_reporter.triage import (
    AnomalyScorer,
    DetectorParams,
    SeriesTriage,
    StuckRule,
    TriageConfig,
    alert_due,
    describe_span,
)

STEP_S = 120.0  # 1,000 readings cover more than the day the range rule waits for


def _steady(n: int, seed: int = 1, mean: float = 21.0, sd: float = 0.3) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.gauss(mean, sd), 2) for _ in range(n)]


def _feed(triage: SeriesTriage, values: list[float | None], start: float = 0.0) -> list:
    return [triage.update(start + i * STEP_S, v) for i, v in enumerate(values)]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_steady_noisy_data_stays_normal(seed: int) -> None:
    verdicts = _feed(SeriesTriage(TriageConfig(), "°C"), _steady(3000, seed))
    flagged = [v for v in verdicts if v.severity is not Severity.NORMAL]
    assert all(0.0 <= v.score <= 1.0 for v in verdicts)
    # Noise never alarms; the only warnings are the rare new all-time extremes (a few in
    # 4 days), and they say so.
    assert all(v.severity is Severity.WARNING for v in flagged)
    assert len(flagged) <= 6
    assert all("reading of the last" in v.reason for v in flagged)


@pytest.mark.parametrize("jump", [8.0, -8.0, 30.0])
def test_big_spike_is_critical_with_sigma_reason(jump: float) -> None:
    triage = SeriesTriage(TriageConfig(), "°C")
    _feed(triage, _steady(1000))
    verdict = triage.update(1000 * STEP_S, 21.0 + jump)
    assert verdict.severity is Severity.CRITICAL
    assert verdict.score >= 0.99
    assert f"{21.0 + jump:.1f} °C" in verdict.reason
    assert "σ" in verdict.reason
    assert ("above" if jump > 0 else "below") in verdict.reason
    assert "the last" in verdict.reason  # the baseline window, described in words
    assert verdict.baseline_mean == pytest.approx(21.0, abs=0.2)
    assert verdict.baseline_std == pytest.approx(0.3, abs=0.15)


@pytest.mark.parametrize(
    ("warning", "critical", "expected"),
    [
        (0.2, 1.01, Severity.WARNING),  # critical out of reach: the spike only warns
        (0.2, 0.3, Severity.CRITICAL),
        (0.999, 0.9999, Severity.CRITICAL),  # a score of 1.0 passes any threshold <= 1
    ],
)
def test_thresholds_decide_the_severity(
    warning: float, critical: float, expected: Severity
) -> None:
    triage = SeriesTriage(TriageConfig(warning_score=warning, critical_score=critical), "°C")
    _feed(triage, _steady(1000))
    assert triage.update(1000 * STEP_S, 40.0).severity is expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (85.0, "85.0 °C is above the sensor limit of 80 °C"),
        (-45.5, "-45.5 °C is below the sensor limit of -40 °C"),
    ],
)
def test_hard_limits_are_critical(value: float, fragment: str) -> None:
    triage = SeriesTriage(TriageConfig(hard_min=-40.0, hard_max=80.0), "°C")
    _feed(triage, _steady(10))
    verdict = triage.update(10 * STEP_S, value)
    assert verdict.severity is Severity.CRITICAL
    assert verdict.score == 1.0
    assert verdict.reason == fragment


def test_hard_limit_reading_does_not_move_the_baseline() -> None:
    triage = SeriesTriage(TriageConfig(hard_max=80.0), "°C")
    _feed(triage, _steady(200))
    before = triage.update(200 * STEP_S, 21.0).baseline_mean
    triage.update(201 * STEP_S, 500.0)
    assert triage.update(202 * STEP_S, 21.0).baseline_mean == pytest.approx(before, abs=0.05)


def _stuck_after(count: int, **rule: Any) -> TriageConfig:
    """A config whose stuck rule fires after `count` identical readings, whatever their span."""
    values: dict[str, Any] = {
        "min_readings": count,
        "min_seconds": 0.0,
        "min_decimals": None,
        "longest_factor": 0.0,
    }
    return TriageConfig(stuck=StuckRule(**{**values, **rule}))


@pytest.mark.parametrize("count", [5, 12])
def test_stuck_value_warns_after_count(count: int) -> None:
    triage = SeriesTriage(_stuck_after(count), "°C")
    _feed(triage, _steady(300))
    verdicts = _feed(triage, [21.3] * count, start=300 * STEP_S)
    assert all(v.severity is Severity.NORMAL for v in verdicts[: count - 1])
    assert verdicts[-1].severity is Severity.WARNING
    assert verdicts[-1].reason == f"value stuck at 21.3 °C for {count} readings"


def test_stuck_rule_can_be_disabled() -> None:
    triage = SeriesTriage(TriageConfig(stuck=None))
    verdicts = _feed(triage, [0.0] * 500)
    assert all(v.severity is Severity.NORMAL for v in verdicts)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_dropout_warns_after_k_consecutive_missing(k: int) -> None:
    triage = SeriesTriage(TriageConfig(dropout_count=k), "°C")
    _feed(triage, _steady(50))
    verdicts = _feed(triage, [None] * k, start=50 * STEP_S)
    assert all(v.severity is Severity.NORMAL for v in verdicts[:-1])
    assert verdicts[-1].severity is Severity.WARNING
    assert verdicts[-1].reason == f"no reading for {k} consecutive samples"
    assert verdicts[-1].score == 0.0


def test_reading_after_dropout_resets_the_count() -> None:
    triage = SeriesTriage(TriageConfig(dropout_count=2))
    _feed(triage, [*_steady(50), None, 21.0, None])
    assert triage.update(60 * STEP_S, 21.0).severity is Severity.NORMAL


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_input_warns_and_does_not_poison_state(bad: float) -> None:
    triage = SeriesTriage(TriageConfig(), "°C")
    _feed(triage, _steady(500))
    verdict = triage.update(500 * STEP_S, bad)
    assert verdict.severity is Severity.WARNING
    assert "non-finite" in verdict.reason
    assert math.isfinite(verdict.baseline_mean)
    twin = SeriesTriage(TriageConfig(), "°C")
    _feed(twin, _steady(500))
    after = _feed(triage, _steady(100, seed=9), start=501 * STEP_S)
    expected = _feed(twin, _steady(100, seed=9), start=501 * STEP_S)
    # The bad reading left no trace: the series behaves exactly as if it never came.
    assert [(v.severity, v.score, v.baseline_mean) for v in after] == [
        (v.severity, v.score, v.baseline_mean) for v in expected
    ]


def test_normal_reading_shares_one_reason() -> None:
    verdicts = _feed(SeriesTriage(TriageConfig()), _steady(400))
    reasons = {v.reason for v in verdicts if v.severity is Severity.NORMAL}
    assert len(reasons) == 1


@pytest.mark.parametrize(
    ("seconds", "readings", "words"),
    [
        (0.0, 40, "the last 40 readings"),
        (30.0, 3, "the last 30 seconds"),
        (600.0, 60, "the last 10 minutes"),
        (3600.0, 60, "the last hour"),
        (6 * 3600.0, 60, "the last 6 hours"),
        (3 * 86400.0, 60, "the last 3 days"),
    ],
)
def test_baseline_window_in_words(seconds: float, readings: int, words: str) -> None:
    assert describe_span(seconds, readings) == words


def test_reason_quotes_the_hour_baseline_for_one_minute_readings() -> None:
    triage = SeriesTriage(TriageConfig(), "°C")
    for i, v in enumerate(_steady(1000)):
        triage.update(i * 60.0, v)
    # 29σ: with the tuned spike_divisor (8) a lone reading needs about 25σ before a day of
    # history (after it, the range rule takes any new extreme).
    verdict = triage.update(1000 * 60.0, 30.0)
    assert verdict.reason.startswith("30.0 °C is ")
    assert verdict.reason.endswith("above the baseline of the last hour")


def test_scorer_is_deterministic_and_bounded() -> None:
    rng = random.Random(3)
    values = [rng.gauss(0, 1) * (10 if rng.random() < 0.01 else 1) for _ in range(5000)]
    runs = []
    for _ in range(2):
        scorer = AnomalyScorer(DetectorParams())
        runs.append([scorer.score(i * STEP_S, v) for i, v in enumerate(values)])
    assert runs[0] == runs[1]
    assert all(0.0 <= s <= 1.0 for s in runs[0])


def test_first_alert_of_an_episode_scores_highest() -> None:
    """After a detection the rest period damps the next scores: one alert per episode."""
    scorer = AnomalyScorer(DetectorParams())
    for i, v in enumerate(_steady(1000)):
        scorer.score(i * STEP_S, v)
    first = scorer.score(1000 * STEP_S, 40.0)
    second = scorer.score(1001 * STEP_S, 40.0)
    assert first == 1.0
    assert second < first


@pytest.mark.parametrize("bad_ts", [math.nan, math.inf])
def test_non_finite_time_warns_without_crashing(bad_ts: float) -> None:
    triage = SeriesTriage(TriageConfig(), "°C")
    _feed(triage, _steady(100))
    verdict = triage.update(bad_ts, 21.0)
    assert verdict.severity is Severity.WARNING
    assert "time" in verdict.reason
    assert triage.update(100 * STEP_S, 21.0).severity is Severity.NORMAL


@pytest.mark.parametrize(
    ("first", "due"),
    [(1, [1, 2, 4, 8, 16, 32]), (3, [3, 6, 12, 24, 48]), (12, [12, 24, 48])],
)
def test_rule_alerts_at_first_then_doubling(first: int, due: list[int]) -> None:
    assert [n for n in range(1, 50) if alert_due(n, first)] == due


def _alerting(verdicts: list) -> list[int]:
    """1-based positions of the readings that alert."""
    return [i + 1 for i, v in enumerate(verdicts) if v.severity is not Severity.NORMAL]


def test_stuck_episode_alerts_once_then_reminds() -> None:
    """Regression: a sensor stuck for an hour gave a warning on every reading after the 12th."""
    triage = SeriesTriage(_stuck_after(12), "%")
    verdicts = _feed(triage, [55.0] * 60)
    assert _alerting(verdicts) == [12, 24, 48]
    assert verdicts[30].reason == "value stuck at 55.0 % for 31 readings (already reported)"


def test_dropout_episode_alerts_once_then_reminds() -> None:
    triage = SeriesTriage(TriageConfig(dropout_count=3), "°C")
    _feed(triage, _steady(50))
    assert _alerting(_feed(triage, [None] * 20, start=1e6)) == [3, 6, 12]


def test_hard_limit_excursion_alerts_at_doubling_and_rearms() -> None:
    triage = SeriesTriage(TriageConfig(hard_max=80.0), "°C")
    _feed(triage, _steady(50))
    excursion = _feed(triage, [95.0] * 10, start=1e6)
    assert _alerting(excursion) == [1, 2, 4, 8]
    assert excursion[7].reason == "95.0 °C is above the sensor limit of 80 °C (8 readings in a row)"
    _feed(triage, [21.0], start=2e6)
    assert _alerting(_feed(triage, [95.0], start=3e6)) == [1]


def _flat_then(step: float, resolution: float) -> list:
    """A quantized, flat series (disk use at 21.6 %) for 200 readings, then a small step."""
    triage = SeriesTriage(TriageConfig(stuck=None, resolution=resolution), "%")
    _feed(triage, [21.6] * 200)
    return _feed(triage, [21.6 + step] * 20, start=1e6)


def test_flat_series_step_below_resolution_stays_normal() -> None:
    """Regression: disk use going 21.6 -> 22.3 % was flagged critical at '5.4σ' in the demo."""
    assert _alerting(_flat_then(0.7, resolution=2.0)) == []
    assert _alerting(_flat_then(0.7, resolution=0.0)) != []  # what the floor prevents


@pytest.mark.parametrize(("step", "first"), [(5.0, 4), (30.0, 1), (-10.0, 2)])
def test_step_well_beyond_resolution_is_still_flagged(step: float, first: int) -> None:
    # Measured in resolution units against a spread of at least one unit: a big step is
    # flagged at once, a step of 1.5 units beyond the dead band once a few readings hold it.
    assert _alerting(_flat_then(step, resolution=2.0)) == [first]


def _after_flat(values: list[float], resolution: float) -> list:
    """200 readings of exactly 21.0 °C (a quiet room at the sensor's resolution), then these."""
    triage = SeriesTriage(TriageConfig(stuck=None, resolution=resolution), "°C")
    _feed(triage, [21.0] * 200)
    return _feed(triage, values, start=1e6)


def test_a_spike_after_a_flat_history_is_flagged_on_the_spike_not_the_reading_after() -> None:
    """Regression: after a perfectly flat history the detector had no spread, so a 35 °C
    spike scored 0 and the ordinary 21.0 °C reading after it was the one flagged."""
    verdicts = _after_flat([35.0, 21.0, 21.0, 21.0], resolution=0.1)
    assert _alerting(verdicts) == [1]
    assert verdicts[0].score >= 0.99


@pytest.mark.parametrize("step", [21.1, 21.2])
def test_one_quantization_step_after_a_flat_history_is_not_an_alert(step: float) -> None:
    """Regression: a single 0.1 °C step and back (the sensor's resolution) after a flat
    history made the reading after it an alert at thousands of sigmas."""
    verdicts = _after_flat([step, 21.0, 21.0, 21.0], resolution=0.1)
    assert _alerting(verdicts) == []
    assert max(v.score for v in verdicts) < 0.5


@pytest.mark.parametrize(
    ("critical_sigma", "severity"), [(4.0, Severity.CRITICAL), (100.0, Severity.WARNING)]
)
def test_critical_needs_a_large_deviation(critical_sigma: float, severity: Severity) -> None:
    """Regression: a pressure reading 2.3σ from its baseline was paged as critical; a high
    score with a small deviation is a broken pattern, reported as a warning."""
    triage = SeriesTriage(TriageConfig(critical_sigma=critical_sigma), "°C")
    _feed(triage, _steady(1000))
    verdict = triage.update(1000 * STEP_S, 29.0)  # ~27σ: critical by score
    assert verdict.score >= 0.99
    assert verdict.severity is severity


def _runs(pattern: list[tuple[float, int]]) -> list[float | None]:
    """Values repeated: [(21.0, 30), (21.1, 25)] is 30 readings of 21.0, then 25 of 21.1."""
    return [value for value, n in pattern for _ in range(n)]


def test_a_quiet_room_holding_its_steps_is_not_stuck() -> None:
    """A DHT22 at 0.1 °C resolution in a quiet room repeats each step for half an hour."""
    temperature = DHT22[0].triage
    triage = SeriesTriage(temperature, "°C")
    quiet = _runs([(21.0 + 0.1 * (i % 3), 30) for i in range(100)])  # one reading a minute
    verdicts = [triage.update(60.0 * i, v) for i, v in enumerate(quiet)]
    assert [v for v in verdicts if v.rule == "stuck_value"] == []


def test_a_value_frozen_after_a_noisy_history_is_stuck_soon() -> None:
    humidity = DHT22[1].triage
    triage = SeriesTriage(humidity, "%")
    noisy = [round(45.0 + random.Random(i).gauss(0, 0.8), 1) for i in range(200)]
    _ = [triage.update(1.0 * i, v) for i, v in enumerate(noisy)]
    frozen = [triage.update(200.0 + i, 47.3) for i in range(400)]
    first = next(i for i, v in enumerate(frozen) if v.rule == "stuck_value")
    assert 119 <= first <= 121  # the kind's 2 minutes, at one reading a second
    assert frozen[first].severity is Severity.WARNING
    assert (frozen[first].rule, frozen[first].kind) == ("stuck_value", Kind.SENSOR_FAULT)
    # The readings after it stay in the fault condition, reminded at doubling counts.
    assert all(v.kind is Kind.SENSOR_FAULT for v in frozen[first:])


def test_a_stuck_run_does_not_teach_the_series_to_wait_longer() -> None:
    triage = SeriesTriage(_stuck_after(5, longest_factor=4.0), "%")
    values = _runs([(float(i % 2), 2) for i in range(20)])  # runs of 2: due after 8
    _ = [triage.update(float(i), v) for i, v in enumerate(values)]
    first = _alerting(_feed(triage, _runs([(7.0, 30)]), start=100.0))[0]
    _feed(triage, [1.0, 2.0], start=1000.0)
    assert _alerting(_feed(triage, _runs([(9.0, 30)]), start=2000.0))[0] == first == 8


@pytest.mark.parametrize(
    ("value", "rule", "stuck"),
    [
        (0.0, StuckRule(min_readings=5, min_seconds=0.0, natural=(0.0,)), False),
        (3.0, StuckRule(min_readings=5, min_seconds=0.0, natural=(0.0,), min_decimals=None), True),
        (40.0, StuckRule(min_readings=5, min_seconds=0.0), False),  # a round number, unknown kind
        (40.1234, StuckRule(min_readings=5, min_seconds=0.0), True),  # identical to 4 decimals
        (40.1234, StuckRule(min_readings=5, min_seconds=3600.0), False),  # not for an hour yet
    ],
)
def test_which_runs_can_be_stuck(value: float, rule: StuckRule, stuck: bool) -> None:
    triage = SeriesTriage(TriageConfig(stuck=rule))
    verdicts = _feed(triage, [value] * 20, start=0.0)  # 20 readings over 38 minutes
    assert any(v.rule == "stuck_value" for v in verdicts) is stuck


def test_a_run_past_max_seconds_is_stuck_whatever_the_history() -> None:
    rule = StuckRule(min_readings=5, min_seconds=1e5, max_seconds=3600.0, min_decimals=None)
    triage = SeriesTriage(TriageConfig(stuck=rule, statistical=False))
    _feed(triage, [1.0] * 100 + [2.0])  # a long quiet run: due after 400 readings
    verdicts = _feed(triage, [3.0] * 40, start=1e6)  # 40 readings, two minutes apart
    assert _alerting(verdicts)[0] == 31  # the first reading an hour into the run


def test_motion_counts_get_no_statistical_score() -> None:
    """Regression: a PIR's normal 0/1 counts were flagged as pattern breaks in the demo."""
    triage = SeriesTriage(PIR[0].triage, "count")
    rng = random.Random(3)
    counts = [0.0] * 2000 + [float(rng.random() < 0.3) for _ in range(2000)] + [0.0] * 2000
    verdicts = _feed(triage, counts)
    assert _alerting(verdicts) == []
    assert {v.score for v in verdicts} == {0.0}
