"""Triage at its edges: the words of every reason, the bounds of each rule, what a rule's
episode says reading by reading. Found by mutation testing (`make mutate MODULES=triage`):
each test fails on an edit of edge_reporter/triage.py the older tests let through.
"""

from __future__ import annotations

import math
import random

import pytest

from edge_reporter.engine import reading_event
from edge_reporter.model import Kind, Reading, Severity
from edge_reporter.triage import (
    AnomalyScorer,
    DetectorParams,
    SeriesTriage,
    StuckRule,
    TriageConfig,
    describe_span,
)


@pytest.mark.parametrize(
    ("seconds", "readings", "words"),
    [
        (-5.0, 7, "the last 7 readings"),
        (0.4, 3, "the last second"),
        (1.0, 3, "the last second"),
        (89.0, 3, "the last 89 seconds"),
        (90.0, 3, "the last 2 minutes"),
        (49.4 * 60, 3, "the last 49 minutes"),
        (50 * 60.0, 3, "the last hour"),
        (89 * 60.0, 3, "the last hour"),
        (90 * 60.0, 3, "the last 2 hours"),
        (35.4 * 3600, 3, "the last 35 hours"),
        (36 * 3600.0, 3, "the last 2 days"),
        (10 * 86400.0, 3, "the last 10 days"),
        (0.0, 1, "the last reading"),
    ],
)
def test_windows_in_words_at_their_bounds(seconds: float, readings: int, words: str) -> None:
    assert describe_span(seconds, readings) == words


def test_limits_and_values_are_written_as_a_person_reads_them() -> None:
    config = TriageConfig(hard_min=-0.5, hard_max=1.0, stuck=None, statistical=False)
    triage = SeriesTriage(config, "")  # a unitless series: no trailing space
    assert triage.update(0.0, 1.25).reason == "1.2 is above the sensor limit of 1"
    triage.update(1.0, 0.0)
    assert triage.update(2.0, -0.00123).reason != ""  # within the limits
    assert triage.update(3.0, -0.75).reason == "-0.75 is below the sensor limit of -0.5"
    volts = SeriesTriage(TriageConfig(hard_max=0.0125, stuck=None, statistical=False), "V")
    assert volts.update(0.0, 0.0130).reason == "0.013 V is above the sensor limit of 0.0125 V"
    assert volts.update(1.0, 0.5).reason.startswith("0.5 V is above")


def test_a_value_exactly_at_a_hard_limit_is_within_it() -> None:
    triage = SeriesTriage(TriageConfig(hard_min=-40.0, hard_max=80.0), "°C")
    assert triage.update(0.0, 80.0).severity is Severity.NORMAL
    assert triage.update(1.0, -40.0).severity is Severity.NORMAL
    verdict = triage.update(2.0, 80.01)
    assert (verdict.severity, verdict.rule, verdict.kind) == (
        Severity.CRITICAL,
        "hard_limit",
        Kind.SENSOR_FAULT,
    )


def test_a_hard_limit_episode_reading_by_reading() -> None:
    triage = SeriesTriage(TriageConfig(hard_max=80.0), "°C")
    for i in range(10):
        triage.update(float(i), 20.0)
    verdicts = [triage.update(100.0 + i, 90.0) for i in range(3)]
    assert [(v.severity, v.score, v.rule) for v in verdicts] == [
        (Severity.CRITICAL, 1.0, "hard_limit"),
        (Severity.CRITICAL, 1.0, "hard_limit"),
        (Severity.NORMAL, 1.0, "hard_limit"),
    ]
    assert [v.reason for v in verdicts] == [
        "90.0 °C is above the sensor limit of 80 °C",
        "90.0 °C is above the sensor limit of 80 °C (2 readings in a row)",
        "90.0 °C is above the sensor limit of 80 °C (already reported)",
    ]
    assert verdicts[0].baseline_mean == pytest.approx(20.0)
    assert verdicts[0].baseline_std == 0.0


def test_a_rule_verdict_before_any_reading_sends_no_baseline() -> None:
    # A first reading past a hard limit, or a sensor silent from the start: nothing was learnt,
    # so the event the agent stores and shows carries no baseline (it said "0 ± 0" before).
    triage = SeriesTriage(TriageConfig(hard_max=80.0, dropout_count=1), "°C")
    first = triage.update(0.0, 90.0)
    assert (first.severity, first.rule) == (Severity.CRITICAL, "hard_limit")
    assert math.isnan(first.baseline_mean)
    assert math.isnan(first.baseline_std)
    event = reading_event(Reading(0.0, "t1", "temperature", "°C", 90.0), first)
    assert event["reason"] == "90.0 °C is above the sensor limit of 80 °C"
    assert "baseline" not in event
    silent = SeriesTriage(TriageConfig(dropout_count=1), "°C").update(0.0, None)
    assert (silent.severity, silent.rule) == (Severity.WARNING, "dropout")
    assert "baseline" not in reading_event(Reading(0.0, "t1", "temperature", "°C", None), silent)
    # Once a reading is learnt, the same rule quotes it.
    triage.update(1.0, 20.0)
    after = reading_event(Reading(2.0, "t1", "temperature", "°C", 90.0), triage.update(2.0, 90.0))
    assert after["baseline"] == {"mean": 20.0, "std": 0.0}


def test_a_dropout_episode_reading_by_reading() -> None:
    triage = SeriesTriage(TriageConfig(dropout_count=2), "°C")
    triage.update(0.0, 20.0)
    verdicts = [triage.update(1.0 + i, None) for i in range(3)]
    assert [(v.severity, v.rule, v.kind, v.reason) for v in verdicts] == [
        (Severity.NORMAL, None, None, "no reading"),
        (Severity.WARNING, "dropout", Kind.SENSOR_FAULT, "no reading for 2 consecutive samples"),
        (
            Severity.NORMAL,
            "dropout",
            Kind.SENSOR_FAULT,
            "no reading for 3 consecutive samples (already reported)",
        ),
    ]
    assert all(v.baseline_mean == 20.0 for v in verdicts)


def test_non_finite_values_and_times_are_named() -> None:
    triage = SeriesTriage(TriageConfig(), "°C")
    nan = triage.update(0.0, math.nan)
    assert (nan.severity, nan.rule, nan.kind, nan.reason) == (
        Severity.WARNING,
        "non_finite",
        Kind.SENSOR_FAULT,
        "sensor returned a non-finite value (nan); reading ignored",
    )
    late = triage.update(math.inf, 20.0)
    assert (late.rule, late.reason) == ("invalid_time", "reading has no valid time (inf); ignored")
    # A missing reading between them counts towards a dropout; a bad value resets it.
    assert triage.update(1.0, None).reason == "no reading"


def test_the_baseline_is_the_mean_and_spread_before_the_reading() -> None:
    triage = SeriesTriage(TriageConfig(baseline_readings=4, stuck=None), "°C")
    verdicts = [triage.update(float(i), v) for i, v in enumerate([10.0, 12.0, 14.0, 16.0, 30.0])]
    # Plain mean and variance until 1/n falls below 1/4, then exponentially weighted.
    assert [v.baseline_mean for v in verdicts] == pytest.approx([10.0, 10.0, 11.0, 12.0, 13.0])
    assert verdicts[0].baseline_std == 0.0  # the first reading is its own baseline
    assert verdicts[2].baseline_std == pytest.approx(1.0)
    assert verdicts[4].baseline_std == pytest.approx(math.sqrt(5.0))


@pytest.mark.parametrize(
    ("value", "rule", "eligible"),
    [
        (21.3, StuckRule(), False),  # one decimal: a quiet room
        (21.345, StuckRule(), False),  # three decimals: still a plausible reading
        (21.3456, StuckRule(), True),
        (0.0004, StuckRule(), True),  # small values are judged by their own digits
        (0.0, StuckRule(min_decimals=None), True),
        (0.0, StuckRule(min_decimals=None, natural=(0.0, 1.0)), False),
        (1.0, StuckRule(min_decimals=None, natural=(0.0, 1.0)), False),
        (2.0, StuckRule(min_decimals=None, natural=(0.0, 1.0)), True),
        (5.5, StuckRule(min_decimals=0), True),
        (-5.0, StuckRule(min_decimals=0), False),
    ],
)
def test_which_values_a_frozen_sensor_can_hold(
    value: float, rule: StuckRule, eligible: bool
) -> None:
    assert rule.eligible(value) is eligible


def test_a_stuck_run_must_last_its_readings_and_its_seconds() -> None:
    rule = StuckRule(min_readings=5, min_seconds=100.0, longest_factor=0.0, min_decimals=None)
    triage = SeriesTriage(TriageConfig(stuck=rule, statistical=False), "%")
    verdicts = [triage.update(25.0 * i, 7.0) for i in range(8)]
    # 5 readings span 100 s at the 5th reading: both bounds met there, not before.
    assert [v.rule for v in verdicts] == [None] * 4 + ["stuck_value"] * 4
    assert verdicts[4].severity is Severity.WARNING
    assert verdicts[4].reason == "value stuck at 7.0 % for 5 readings"
    assert verdicts[5].reason == "value stuck at 7.0 % for 6 readings (already reported)"
    # The run ends: the next different value is normal again and the run is not learnt.
    after = triage.update(500.0, 8.0)
    assert (after.severity, after.rule, after.reason) == (
        Severity.NORMAL,
        None,
        "within the usual range",
    )
    assert triage._longest == 0


def test_a_natural_resting_value_never_teaches_the_series_to_wait_longer() -> None:
    rule = StuckRule(min_readings=3, min_seconds=0.0, longest_factor=2.0, natural=(0.0,))
    triage = SeriesTriage(TriageConfig(stuck=rule, statistical=False), "count")
    for i in range(50):  # a long rest at 0, then a run of 1.2345 of 2 readings
        triage.update(float(i), 0.0)
    for i in range(2):
        triage.update(50.0 + i, 1.2345)
    triage.update(60.0, 2.0)
    # Runs of 2 were seen: a fault needs max(3, 2 * 2) = 4 repeats now, not 2 * 50.
    verdicts = [triage.update(100.0 + i, 3.4567) for i in range(9)]
    assert [v.rule for v in verdicts].index("stuck_value") == 3


def test_a_new_extreme_is_named_with_the_old_one() -> None:
    rng = random.Random(2)
    triage = SeriesTriage(TriageConfig(), "°C")
    step = 300.0
    for i in range(400):  # more than a day of 5-minute readings between 19 and 21 °C
        triage.update(i * step, round(20.0 + rng.uniform(-1.0, 1.0), 2))
    verdict = triage.update(400 * step, 10.0)
    assert verdict.rule == "new_extreme"
    assert verdict.reason.startswith("10.0 °C is ")
    assert "below the baseline" in verdict.reason
    assert verdict.reason.endswith("; the lowest reading of the last 33 hours was 19.01 °C")


def test_the_scorer_waits_for_its_warmup_and_rests_after_a_detection() -> None:
    params = DetectorParams(warmup=5, rest=2, rest_damping=0.5)
    scorer = AnomalyScorer(params)
    rng = random.Random(4)
    early = [scorer.score(i * 60.0, 20.0 + rng.gauss(0, 0.1)) for i in range(5)]
    assert early == [0.0] * 5
    for i in range(5, 300):
        scorer.score(i * 60.0, 20.0 + rng.gauss(0, 0.1))
    scores = [scorer.score((300 + i) * 60.0, 60.0) for i in range(4)]
    assert scores[0] == 1.0
    assert scores[1] == 0.5 * scorer_copy_score(params, rng_seed=4, at=1)
    assert scores[3] > scores[2] * 1.5  # damping over after `rest` readings


def scorer_copy_score(params: DetectorParams, *, rng_seed: int, at: int) -> float:
    """The undamped score of the `at`-th spike reading, from a twin scorer that never rests."""
    twin = AnomalyScorer(DetectorParams(**{**_fields(params), "rest": 0}))
    rng = random.Random(rng_seed)
    for i in range(300):
        twin.score(i * 60.0, 20.0 + rng.gauss(0, 0.1))
    return [twin.score((300 + i) * 60.0, 60.0) for i in range(at + 1)][at]


def _fields(params: DetectorParams) -> dict[str, float]:
    return {name: getattr(params, name) for name in params.__dataclass_fields__}


def test_one_and_zero_are_written_with_their_decimal() -> None:
    config = TriageConfig(hard_min=0.5, hard_max=0.75, stuck=None)
    above = SeriesTriage(config, "V").update(0.0, 1.0)
    assert above.reason == "1.0 V is above the sensor limit of 0.75 V"
    below = SeriesTriage(config, "V").update(0.0, 0.0)
    assert below.reason == "0.0 V is below the sensor limit of 0.5 V"


def test_a_first_sample_that_is_missing_is_not_yet_a_dropout() -> None:
    triage = SeriesTriage(TriageConfig(dropout_count=2), "°C")
    first = triage.update(0.0, None)
    assert (first.severity, first.reason) == (Severity.NORMAL, "no reading")
    assert triage.update(1.0, None).severity is Severity.WARNING


def test_the_baseline_window_is_the_readings_before_the_flag() -> None:
    """54 readings 55 s apart before the flag: a window of 49.5 minutes, said as 50 (one
    reading more or fewer, or the step taken over one reading too many or too few, reads as
    49 minutes or as the last hour)."""
    rng = random.Random(7)
    triage = SeriesTriage(TriageConfig(), "°C")
    for i in range(54):
        assert triage.update(55.0 * i, 21.0 + rng.gauss(0, 0.1)).severity is Severity.NORMAL
    verdict = triage.update(55.0 * 54, 35.0)
    assert verdict.severity is Severity.WARNING
    assert verdict.reason == "35.0 °C is 167.0σ above the baseline of the last 50 minutes"


def test_a_new_extreme_of_a_unitless_series_ends_with_the_old_value() -> None:
    rng = random.Random(2)
    triage = SeriesTriage(TriageConfig())  # e.g. a load average: no unit
    for i in range(400):
        triage.update(i * 300.0, round(20.0 + rng.uniform(-1.0, 1.0), 2))
    verdict = triage.update(400 * 300.0, 10.0)
    assert verdict.rule == "new_extreme"
    assert verdict.reason.endswith("; the lowest reading of the last 33 hours was 19.01")


def _noisy_scorer(params: DetectorParams, resolution: float | None = None) -> AnomalyScorer:
    """A scorer after 300 one-minute readings of 20 ± 0.1 (seeded)."""
    scorer = AnomalyScorer(params) if resolution is None else AnomalyScorer(params, resolution)
    rng = random.Random(4)
    for i in range(300):
        scorer.score(i * 60.0, 20.0 + rng.gauss(0, 0.1))
    return scorer


def test_a_single_huge_reading_is_named_a_spike() -> None:
    rng = random.Random(4)
    triage = SeriesTriage(TriageConfig(), "°C")
    for i in range(300):
        triage.update(i * 60.0, 20.0 + rng.gauss(0, 0.1))
    verdict = triage.update(300 * 60.0, 60.0)
    assert (verdict.severity, verdict.rule, verdict.kind) == (
        Severity.WARNING,
        "spike",
        Kind.PROCESS_ANOMALY,
    )
    assert verdict.reason == "60.0 °C is 391.3σ above the baseline of the last hour"


def test_the_scorer_has_no_resolution_unless_given_one() -> None:
    # A series whose steps are far below 1: a resolution of 1 would make it all dead band.
    rng = random.Random(9)
    values = [0.02 + rng.gauss(0, 0.001) for _ in range(200)] + [0.05]
    plain, explicit = AnomalyScorer(DetectorParams()), AnomalyScorer(DetectorParams(), 0.0)
    scores = [plain.score(i * 60.0, v) for i, v in enumerate(values)]
    assert scores == [explicit.score(i * 60.0, v) for i, v in enumerate(values)]
    assert scores[-1] >= 0.9


def test_a_score_exactly_at_the_fire_point_starts_the_rest() -> None:
    # Scores are capped at 1.0: with fire = 1.0 the capped spike is a detection, and the next
    # reading is damped.
    params = DetectorParams(fire=1.0, rest=2, rest_damping=0.5)
    scorer, twin = _noisy_scorer(params), _noisy_scorer(DetectorParams(fire=1.0, rest=0))
    assert [scorer.score(18_000.0, 60.0), twin.score(18_000.0, 60.0)] == [1.0, 1.0]
    second = twin.score(18_060.0, 60.0)
    assert second > 0.0
    assert scorer.score(18_060.0, 60.0) == 0.5 * second


def test_a_new_extreme_counts_from_exactly_the_range_wait() -> None:
    rng = random.Random(3)
    scorer = AnomalyScorer(DetectorParams(range_wait_s=6000.0))
    values = [20.0 + rng.uniform(-1.0, 1.0) for _ in range(100)]
    for i, v in enumerate(values):
        scorer.score(i * 60.0, v)
    assert scorer.score(6000.0, 25.0) == 1.0  # 6,000 s after the first reading
    assert scorer.rule == "new_extreme"
    assert scorer.new_extreme == max(values)


def test_with_a_resolution_the_first_step_is_measured_in_its_units() -> None:
    # Straight after the warm-up (here 1 reading), a 3 °C step at a 0.5 °C resolution is
    # 5 units beyond the dead band against a spread of one unit entering the 30-reading
    # window: z = 5, a tail of 2.9e-7, a detection named a jump.
    scorer = AnomalyScorer(DetectorParams(warmup=1), 0.5)
    assert scorer.score(0.0, 20.0) == 0.0
    expected = -math.log10(0.5 * math.erfc(5.0 / math.sqrt(2.0))) / (6.0 / 0.9)
    assert scorer.score(60.0, 23.0) == pytest.approx(expected, rel=1e-9)
    assert scorer.rule == "jump"


def test_the_long_run_statistics_are_plain_until_their_weight_takes_over() -> None:
    # With the long-run weight 1/4, the first 4 window averages are averaged plainly, then
    # exponentially: errors of 1 (each read against the previous one, so 0 first, then 1),
    # then an error of 2. By hand: mean 0, 1/2, 2/3, 3/4, then 3/4 + (1 - 3/4) / 4 = 0.8125;
    # variance 0, 1/4, 2/9, 0.1875, then 3/4 · (0.1875 + 1/4 · (1/4)²) = 0.15234375.
    scorer = AnomalyScorer(DetectorParams(short=1, error_scale=1.0, error_cap=100.0, long=0.25))
    channel = scorer._channels[0]
    firsts = [channel.z(1.0) for _ in range(5)]
    assert firsts[0] == 0.0
    assert channel.z(2.0) == pytest.approx((2.0 - 0.8125) / math.sqrt(0.15234375), rel=1e-12)
