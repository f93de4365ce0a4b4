"""`make mutate`'s score: killed over the mutants run less the equivalent survivors."""

from __future__ import annotations

from collections import Counter

import pytest

from mutation.__main__ import Result, Survivor, is_equivalent, report
from mutation.survivors import SQL_CASE

EQUIVALENT = ["equivalent: a", "equivalent: b", SQL_CASE, "equivalent: c"]
ACCEPTED = ["accepted: d", "accepted: e", "accepted: f"]


def result(counts: dict[str, int], whys: list[str | None]) -> Result:
    """A module's result whose survivors carry `whys` (one survivor each)."""
    r = Result("demo", Counter(counts))
    r.counts["survived"] += len(whys)
    r.survivors = [
        Survivor(f"m.x_f__mutmut_{i}", "survived", "", why) for i, why in enumerate(whys)
    ]
    return r


@pytest.mark.parametrize(
    ("why", "equivalent"),
    [
        ("equivalent: the default is lower-cased on the same line", True),
        ("Equivalent, as the reading is set before any read", True),
        (SQL_CASE, True),
        ("accepted: one more expired block in a round", False),
        (None, False),  # open: no reason yet
        ("", False),
    ],
)
def test_only_justifications_saying_equivalent_leave_the_denominator(
    why: str | None, equivalent: bool
) -> None:
    assert is_equivalent(why) is equivalent


def test_score_leaves_equivalent_survivors_out_and_counts_accepted_and_open_as_not_killed() -> None:
    # 80 killed, 5 timed out, 5 refused by mypy: 90 killed; 10 survivors: 4 equivalent,
    # 3 accepted, 3 open; 7 not checked are not scored at all.
    r = result(
        {"killed": 80, "timeout": 5, "caught by type check": 5, "not checked": 7},
        [*EQUIVALENT, *ACCEPTED, None, None, None],
    )
    assert r.scored == 100
    assert r.killed == 90
    assert r.equivalent == 4
    assert r.raw_score == pytest.approx(90.0)
    assert r.score == pytest.approx(100.0 * 90 / 96)


def test_no_tests_mutants_count_against_the_score() -> None:
    r = result({"killed": 9, "no tests": 1}, [])
    assert r.score == pytest.approx(90.0)
    assert r.raw_score == pytest.approx(90.0)


def test_every_survivor_equivalent_scores_full() -> None:
    r = result({"killed": 40}, ["equivalent: x"] * 10)
    assert r.raw_score == pytest.approx(80.0)
    assert r.score == pytest.approx(100.0)


def test_nothing_run_scores_full_without_dividing_by_zero() -> None:
    assert result({"not checked": 3}, []).score == 100.0
    assert result({}, ["equivalent: x"]).score == 100.0


def test_report_prints_both_scores_and_fails_on_an_open_survivor(
    capsys: pytest.CaptureFixture[str],
) -> None:
    r = result({"killed": 88}, ["equivalent: x"] * 2 + ["accepted: y"] * 2)
    assert report(r, min_score=90.0) is True
    out = capsys.readouterr().out
    assert "score 97.8 % (88 of 90 killed, the 2 equivalent survivors left out)" in out
    assert "raw 95.7 % (88 of 92;" in out
    r.survivors.append(Survivor("m.x_f__mutmut_9", "survived", "", None))
    r.counts["survived"] += 1
    assert report(r, min_score=90.0) is False
    assert "UNJUSTIFIED" in capsys.readouterr().out
