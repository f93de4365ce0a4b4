"""More answer defects found by trying the agent as a new user would (issue 10), each pinned by
a test named after it: the real agent (built-in path) over the seeded homelab of the evals with
a frozen clock, or the writer that words the answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.agent.compose import knowledge
from agent_bruno.agent.compose.fmt import Formatter
from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.nlu.slots import _limit as slots_limit
from agent_bruno.agent.prompts import load_prompts
from agent_bruno.agent.service import AgentService
from agent_bruno.storage.sqlite import SqliteStorage
from evals.agent.dataset import Dataset

TZ = ZoneInfo("UTC")
NOW = datetime(2026, 11, 26, 14, 20, tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def storage(eval_dataset: Dataset) -> Iterator[SqliteStorage]:
    store = SqliteStorage(eval_dataset.path)
    yield store
    store.close()


@pytest.fixture
def ask(eval_dataset: Dataset, storage: SqliteStorage) -> Any:
    async def run(*questions: str) -> str:
        now = eval_dataset.now
        context = AgentContext(storage=storage, prompts=load_prompts(), clock=lambda: now, tz=TZ)
        service = await AgentService.create(context)
        try:
            answer = ""
            for q in questions:
                answer = (await service.ask(q, thread_id="t")).answer
            return answer
        finally:
            await service.close()

    return run


async def test_which_nodes_are_critical_says_no_status_is_called_critical_and_names_the_unhealthy(
    ask: Any,
) -> None:
    answer = await ask("which nodes are critical?")
    head, *lines = answer.splitlines()
    assert head.startswith("No node status is called critical")
    assert "2 nodes of 6 are not healthy" in head
    listed = [line for line in lines if line.startswith("- ")]
    assert [line.split()[1] for line in listed] == ["pi-node-3", "pi-node-6"]
    assert "pi-node-1" not in answer  # healthy nodes are counted, not listed


async def test_how_many_nodes_are_critical_counts_the_unhealthy_ones(ask: Any) -> None:
    answer = await ask("how many nodes are critical?")
    assert answer.startswith("No node status is called critical")
    assert "2 nodes are not healthy out of 6: pi-node-3 (server-room) and pi-node-6 (garage)" in (
        answer
    )


async def test_a_ranking_cut_at_the_end_of_the_question_shows_only_that_many(ask: Any) -> None:
    answer = await ask("rank the rooms by humidity, top two")
    assert "Ranking (top 2 of 5):" in answer
    assert "\n3." not in answer


@pytest.mark.parametrize(
    ("question", "count"),
    [
        ("rank the rooms by humidity, top two", 2),
        ("rank the rooms by humidity, top 3?", 3),
        ("the rooms by temperature, bottom two.", 2),
        ("rank the rooms by humidity", None),
        ("what was the top temperature at 5", None),  # a clock time, not a count
    ],
)
def test_a_count_limit_is_read_at_the_end_of_a_question(question: str, count: int | None) -> None:
    assert slots_limit(question) == count


def test_what_a_node_runs_without_cpu_figures_names_them_instead_of_unknown_cpu() -> None:
    rows = [
        {"name": n, "cpu_percent": None, "memory_mib": None, "last_seen": NOW - 30}
        for n in ("edge-reporter", "frigate", "postgres")
    ]
    data = {"node": "pi-node-3", "location": "server-room", "workloads": rows}
    assert knowledge.workloads(Formatter(NOW, TZ), data) == (
        "pi-node-3 (server-room) runs 3 workloads (as of 14:19, just now): edge-reporter, "
        "frigate, postgres. None of them reports its CPU use."
    )


def test_a_workload_without_a_cpu_figure_beside_measured_ones_says_not_reported() -> None:
    rows = [
        {"name": "frigate", "cpu_percent": 61.0, "last_seen": NOW - 30},
        {"name": "postgres", "cpu_percent": None, "memory_mib": 512.0, "last_seen": NOW - 30},
    ]
    data = {"node": "pi-node-3", "location": "server-room", "workloads": rows}
    assert knowledge.workloads(Formatter(NOW, TZ), data).splitlines() == [
        "pi-node-3 (server-room) runs 2 workloads, busiest first (as of 14:19, just now):",
        "- frigate: 61 % CPU",
        "- postgres: CPU not reported, 512 MiB",
    ]


@pytest.mark.parametrize(
    ("a", "b", "unit", "asked", "shown"),
    [
        (18.65, 24.1, "°C", None, "5.4 °C"),  # shown as 18.7 and 24.1; unrounded 5.45 → 5.5
        (18.65, 24.1, "°C", "°F", "9.8 °F"),  # 65.6 °F vs 75.4 °F
        (20.0, 21.0, "°C", "K", "1.0 K"),
        (1012.25, 1010.0, "hPa", None, "2.3 hPa"),
    ],
)
def test_a_comparison_difference_is_that_of_the_values_shown(
    a: float, b: float, unit: str, asked: str | None, shown: str
) -> None:
    f = Formatter(NOW, TZ, asked)
    assert f.gap(a, b, unit, None) == shown
    assert f.gap(b, a, unit, None) == shown
