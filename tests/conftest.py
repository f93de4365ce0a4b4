"""Shared by every tier: no event loop made behind a test's back, and the agent eval's dataset,
built once per run."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from evals.agent.dataset import Dataset


def pytest_sessionstart(session: pytest.Session) -> None:
    """Asking for the current event loop never makes one: every loop a test runs on is made and
    closed by pytest-asyncio or `asyncio.run`.

    looptime asks the loop policy for the current loop before every test, sync ones included, and
    Python 3.11's policy makes and installs a loop when none was ever set in the main thread. The
    first sync test of a run got one that nothing closed; the next async test replaced it, and the
    collector reported the unclosed loop (and its AF_UNIX self-pipe) inside whichever test ran
    then. With a loop set to none, the policy answers "no current loop" (as from Python 3.14 on).
    """
    del session
    asyncio.set_event_loop(None)


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
