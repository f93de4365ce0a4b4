"""NAB scoring on small hand-computed corpora."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evals.triage.__main__ import main
from evals.triage.budget import simulate_week, summary, within_budget
from evals.triage.nab import (
    PROFILES,
    CostMatrix,
    FileRows,
    file_rows,
    probationary_length,
    raw_at_threshold,
    scaled_sigmoid,
    sweep,
)

N = 1000  # rows per file: probationary period 150
WINDOW = (400, 499)  # 100 rows


def _file(
    scores: list[float], spans: list[tuple[int, int]] | None = None, first_id: int = 0
) -> FileRows:
    return file_rows("f.csv", scores, [WINDOW] if spans is None else spans, first_id)


def _with_detections(*rows: int, n: int = N) -> list[float]:
    scores = [0.0] * n
    for r in rows:
        scores[r] = 1.0
    return scores


def _normalized(files: list[FileRows], profile: str, n_windows: int = 1) -> float:
    return sweep(files, PROFILES[profile], profile, n_windows).normalized


@pytest.mark.parametrize(("rows", "expected"), [(100, 15), (1000, 150), (5000, 750), (20000, 750)])
def test_probationary_length(rows: int, expected: int) -> None:
    assert probationary_length(rows) == expected


@pytest.mark.parametrize(
    ("position", "expected"),
    [(-1.0, 2 / (1 + math.exp(-5)) - 1), (-0.5, 0.84828), (0.0, 0.0), (1.0, -0.98661), (3.5, -1.0)],
)
def test_scaled_sigmoid(position: float, expected: float) -> None:
    assert scaled_sigmoid(position) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_null_detector_scores_zero(profile: str) -> None:
    result = sweep([_file([0.0] * N)], PROFILES[profile], profile, 1)
    assert result.normalized == 0.0
    assert result.raw == -PROFILES[profile].fn_weight


@pytest.mark.parametrize("profile", list(PROFILES))
def test_perfect_detector_scores_hundred(profile: str) -> None:
    # One detection on the first row of each window, nothing else.
    files = [_file(_with_detections(400), first_id=0), _file(_with_detections(400), first_id=1)]
    assert _normalized(files, profile, n_windows=2) == pytest.approx(100.0)


def test_early_detection_beats_late_one() -> None:
    early = _normalized([_file(_with_detections(410))], "standard")
    late = _normalized([_file(_with_detections(490))], "standard")
    assert 0.0 < late < early < 100.0


def test_only_the_first_detection_in_a_window_counts() -> None:
    once = _normalized([_file(_with_detections(420))], "standard")
    many = _normalized([_file(_with_detections(420, 430, 440, 499))], "standard")
    assert many == once


def test_tp_credit_matches_nab_position() -> None:
    # Halfway: NAB's position is -(right - i + 1) / width = -(499 - 450 + 1) / 100 = -0.5.
    result = sweep([_file(_with_detections(450))], PROFILES["standard"], "standard", 1)
    assert result.raw == pytest.approx(scaled_sigmoid(-0.5) / scaled_sigmoid(-1.0))


@pytest.mark.parametrize(
    ("profile", "fp_cost"),
    [("standard", 0.11), ("reward_low_FP_rate", 0.22), ("reward_low_FN_rate", 0.11)],
)
def test_false_positive_before_any_window_costs_full_fp_weight(
    profile: str, fp_cost: float
) -> None:
    cost = PROFILES[profile]
    file = _file(_with_detections(200, 400))
    assert raw_at_threshold(file, cost, 0.5) == pytest.approx(1.0 - fp_cost)


def test_false_positive_right_after_a_window_costs_little() -> None:
    cost = PROFILES["standard"]
    near = raw_at_threshold(_file(_with_detections(400, 501)), cost, 0.5)
    far = raw_at_threshold(_file(_with_detections(400, 900)), cost, 0.5)
    # 2 rows past the end: position 2/99; far away: position > 3, the full weight.
    assert near == pytest.approx(1.0 + scaled_sigmoid(2 / 99) * 0.11)
    assert far == pytest.approx(1.0 - 0.11)
    assert far < near < 1.0


def test_probationary_rows_are_ignored() -> None:
    noisy = _file(_with_detections(*range(150), 400))
    clean = _file(_with_detections(400))
    assert raw_at_threshold(noisy, PROFILES["standard"], 0.5) == raw_at_threshold(
        clean, PROFILES["standard"], 0.5
    )
    assert len(noisy.rows) == N - 150


def test_sweep_keeps_the_best_threshold() -> None:
    # Score 0.9 on the window start, 0.5 on many false positives: the best threshold is 0.9.
    scores = [0.0] * N
    scores[400] = 0.9
    for r in range(600, 900, 10):
        scores[r] = 0.5
    result = sweep([_file(scores)], PROFILES["standard"], "standard", 1)
    assert result.threshold == 0.9
    assert result.normalized == pytest.approx(100.0)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("profile", list(PROFILES))
def test_sweep_matches_brute_force(seed: int, profile: str) -> None:
    rng = random.Random(seed)
    cost: CostMatrix = PROFILES[profile]
    files = [
        _file([round(rng.random(), 2) for _ in range(N)], [(300, 349), (700, 759)], first_id=0),
        _file([round(rng.random() ** 3, 2) for _ in range(N)], [(500, 599)], first_id=2),
    ]
    result = sweep(files, cost, profile, 3)
    thresholds = sorted({r.score for f in files for r in f.rows})
    best = max(sum(raw_at_threshold(f, cost, t) for f in files) for t in thresholds)
    assert result.raw == pytest.approx(max(best, -3 * cost.fn_weight))


def _tiny_nab(root: Path) -> Path:
    """A one-file NAB layout: steady noise with a level jump inside the labelled window."""
    rng = random.Random(0)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    lines = ["timestamp,value"]
    for i in range(2000):
        ts = (start + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{ts},{rng.gauss(10.0, 0.5) + (30.0 if i >= 1500 else 0.0):.3f}")
    (root / "data" / "cat").mkdir(parents=True)
    (root / "data" / "cat" / "jump.csv").write_text("\n".join(lines) + "\n")
    (root / "labels").mkdir()
    window = [
        f"{(start + timedelta(minutes=5 * i)):%Y-%m-%d %H:%M:%S}.000000" for i in (1450, 1549)
    ]
    (root / "labels" / "combined_windows.json").write_text(json.dumps({"cat/jump.csv": [window]}))
    return root


@pytest.mark.parametrize(("minimum", "status"), [(50.0, 0), (101.0, 1)])
def test_cli_scores_a_tiny_corpus_and_gates_on_the_minimum(
    tmp_path: Path, minimum: float, status: int
) -> None:
    nab = _tiny_nab(tmp_path / "nab")
    out = tmp_path / "results.json"
    argv = ["--nab-dir", str(nab), "--min-standard", str(minimum), "--workers", "1", "--no-budget"]
    assert main([*argv, "--out", str(out)]) == status
    results = json.loads(out.read_text())
    # The jump is the first detection, halfway through the window: about 0.85 of a window.
    best = results["best_threshold_raw"]["standard"]
    assert best["windows_detected"] == 1
    assert best["normalized"] > 90.0
    # What the reporter sends scores the same here: the jump is its only flag.
    deployed = results["deployed_warning_or_critical"]
    assert deployed["profiles"]["standard"]["windows_detected"] == 1
    assert deployed["profiles"]["standard"]["normalized"] > 50.0
    assert deployed["false_alarms"] >= 0
    assert results["gate"]["figure"] == "deployed_warning_or_critical.standard"


def test_cli_missing_data_dir_exits_2_and_says_how_to_get_nab(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--nab-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.json")]) == 2
    assert "github.com/numenta/NAB" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


NAB_DIR = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "nab"


@pytest.mark.slow
@pytest.mark.skipif(not NAB_DIR.exists(), reason=f"NAB data not found at {NAB_DIR}")
def test_full_corpus_meets_the_ci_target(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    assert main(["--nab-dir", str(NAB_DIR), "--min-standard", "65", "--out", str(out)]) == 0
    profiles = json.loads(out.read_text())["deployed_warning_or_critical"]["profiles"]
    assert profiles["standard"]["null_raw"] == -116.0
    assert profiles["reward_low_FN_rate"]["null_raw"] == -232.0


def test_the_normal_week_counts_episodes_per_series() -> None:
    """Half a day of the demo's ten series, no fault: every series read, nothing raised."""
    weeks = simulate_week(seed=1, days=0.5)
    assert len(weeks) == 10
    assert {w.readings for w in weeks} == {720}
    assert within_budget(weeks)
    assert summary(weeks)["critical_episodes"] == 0
