"""Fixtures shared by every tier: the agent eval's dataset, built once per run."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from evals.agent.dataset import Dataset


@pytest.fixture(scope="session")
def built_eval_dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The agent eval's dataset (about 10 s of CPU to write), built once for the whole run.

    Read it through `eval_dataset`, a private copy, so no test sees another's writes.
    """
    from evals.agent.dataset import build  # the eval package, imported only by tests using it

    return build(tmp_path_factory.mktemp("eval-dataset") / "eval.db")


@pytest.fixture(scope="module")
def eval_dataset(built_eval_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """A copy of the eval dataset for one test module (SQLite's backup: a consistent file)."""
    target = tmp_path_factory.mktemp("eval-db") / "eval.db"
    source = sqlite3.connect(built_eval_dataset.path)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return replace(built_eval_dataset, path=target)
