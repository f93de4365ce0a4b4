"""Our NAB scorer reproduces the published scoreboard for a ported NAB detector."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evals.triage.corpus import load_corpus, load_profiles
from evals.triage.reference import PUBLISHED, windowed_gaussian_scores
from evals.triage.run import evaluate, score_files

NAB_DIR = Path(
    os.environ.get("NAB_DIR", Path(__file__).resolve().parents[3].parent / "shared/datasets/nab")
)


@pytest.mark.skipif(not (NAB_DIR / "data").is_dir(), reason=f"NAB data not found at {NAB_DIR}")
def test_windowed_gaussian_scores_as_published() -> None:
    """The scorer gives NAB's published windowed Gaussian figures for all three profiles."""
    files = load_corpus(NAB_DIR)
    scores = score_files(files, scorer=windowed_gaussian_scores)
    reports = evaluate(files, scores, load_profiles(NAB_DIR))
    measured = {name: round(r.result.normalized, 2) for name, r in reports.items()}
    assert measured == PUBLISHED
