"""The tuning procedure and the set-aside generator, on small made-up corpora."""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path

import pytest

from edge_reporter.triage import TriageConfig
from evals.triage import tune
from evals.triage.corpus import DataFile
from evals.triage.nab import PROFILES
from evals.triage.objective import VerdictCache
from evals.triage.run import WARNING, evaluate, evaluate_fixed, triage_verdicts
from evals.triage.setaside import KINDS, LENGTH, MIN_WINDOW, build, inject

T0 = 1_704_067_200.0


def _file(name: str, n: int = 3000, window_at: int | None = None, seed: int = 0) -> DataFile:
    rng = random.Random(seed)
    ts = [T0 + 300.0 * i for i in range(n)]
    values = [round(10.0 + rng.gauss(0.0, 0.5) + (30.0 if window_at and i >= window_at else 0), 4)
              for i in range(n)]  # fmt: skip
    windows = [] if window_at is None else [(ts[window_at - 50], ts[window_at + 49])]
    return DataFile(name, ts, values, windows)


def test_the_shipped_defaults_are_what_the_search_reads_as_committed() -> None:
    assert tune.config_of(tune.committed()) == TriageConfig()
    for name, value in tune.committed().items():
        assert value in tune.LADDERS[name], f"{name}={value} is not on its ladder"


def test_halves_alternate_within_each_category() -> None:
    files = [_file(f"{c}/{i}.csv", n=10) for c in ("x", "y") for i in range(3)]
    a, b = tune.halves(files)
    assert [f.name for f in a] == ["x/0.csv", "x/2.csv", "y/0.csv", "y/2.csv"]
    assert [f.name for f in b] == ["x/1.csv", "y/1.csv"]


def test_the_search_is_deterministic_and_never_loses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tune, "budget_holds", lambda *args, **kwargs: True)
    monkeypatch.setattr(tune, "LADDERS", {"warning_score": (0.9, 0.95, 0.99)})
    files = [_file("cat/jump.csv", n=2000, window_at=1500)]
    profiles = {"standard": PROFILES["standard"]}
    start = {**tune.committed(), "warning_score": 0.9}
    runs = [tune.search(files, start, profiles, passes=2, workers=1, log=lambda _: None)]
    runs.append(tune.search(files, start, profiles, passes=2, workers=1, log=lambda _: None))
    assert runs[0] == runs[1]
    _, got = runs[0]
    assert got.deployed >= tune.score(files, start, profiles, workers=1).deployed


def test_the_generator_injects_each_kind_once_into_the_unlabelled_part() -> None:
    data = _file("realX/rec.csv", n=4000, window_at=3500)
    made = inject(data, random.Random(1))
    assert made is not None
    series, faults = made
    assert sorted(f.kind for f in faults) == sorted(KINDS)
    assert len(series.values) == 3450  # the rows before NAB's window only
    assert len(series.windows) == len(KINDS)
    for f in faults:
        assert f.start >= len(series.values) // 2
        assert f.length == LENGTH[f.kind]
        chunk = series.values[f.start : f.start + f.length]
        if f.kind == "dropout":
            assert all(math.isnan(v) for v in chunk)
        elif f.kind == "stuck":
            assert len(set(chunk)) == 1
        elif f.kind == "spike":
            assert abs(chunk[0] - data.values[f.start]) > 3.0
    starts = sorted(f.start for f in faults)
    assert all(b - a >= MIN_WINDOW for a, b in itertools.pairwise(starts))


def test_recordings_too_short_before_their_first_window_are_skipped() -> None:
    short = _file("realKnownCause/ambient_temperature_system_failure.csv", n=2000, window_at=900)
    assert build([short]) == ([], [])


def test_the_fast_objective_scores_exactly_what_the_evaluation_does(tmp_path: Path) -> None:
    files = [
        _file("cat/jump.csv", n=2000, window_at=1500, seed=1),
        _file("cat/quiet.csv", n=1500, seed=2),
        _file("dog/late.csv", n=2500, window_at=2200, seed=3),
    ]
    profiles = {"standard": PROFILES["standard"]}
    values = {**tune.committed(), "warning_score": 0.85, "rest": 10}
    verdicts = [triage_verdicts(f, tune.config_of(values)) for f in files]
    deployed = evaluate_fixed(files, [v.levels for v in verdicts], profiles, WARNING)
    best = evaluate(files, [v.scores for v in verdicts], profiles)
    want = tune.Score(deployed["standard"].result.normalized, best["standard"].result.normalized)
    assert tune.score(files, values, profiles, workers=1) == want
    on_disk = VerdictCache(tmp_path)
    assert tune.score(files, values, profiles, workers=1, cache=on_disk) == want
    # The second time every verdict comes from the cache, and is the same.
    assert tune.score(files, values, profiles, workers=1, cache=VerdictCache(tmp_path)) == want
    assert len(list(tmp_path.iterdir())) == len(files)


def test_the_cache_tells_parameter_sets_and_files_apart(tmp_path: Path) -> None:
    cache = VerdictCache(tmp_path)
    a = _file("cat/a.csv", n=300, seed=1)
    b = DataFile(a.name, a.timestamps, [*a.values[:-1], 99.0], a.windows)
    one, other = TriageConfig(), TriageConfig(warning_score=0.5)
    cache.verdicts([a], one, workers=1)
    cache.verdicts([a], other, workers=1)
    cache.verdicts([b], one, workers=1)
    assert len(list(tmp_path.iterdir())) == 3
    (got,) = VerdictCache(tmp_path).verdicts([b], one, workers=1)
    assert got == triage_verdicts(b, one)


def test_a_recorded_run_lands_beside_the_evaluation_figures(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"files": 58}))
    run = {"tuned_on": "all but realTweets", "held_out": {"deployed": 76.2, "best": 76.5}}
    tune.record(run, passes=1, path=path)
    tune.record({**run, "tuned_on": "fold A"}, passes=3, path=path)
    got = json.loads(path.read_text())
    assert got["files"] == 58
    assert list(got["generalization"]) == ["all but realTweets", "fold A"]
    assert got["generalization"]["fold A"]["passes"] == 3
