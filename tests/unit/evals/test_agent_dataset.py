"""The agent eval's seeded dataset reads back as documented, and its case files are sound."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from agent_bruno.health import Beat, Thresholds, assess
from agent_bruno.storage.base import AnomalyQuery, SeriesQuery
from agent_bruno.storage.sqlite import SqliteStorage
from evals.agent.dataset import (
    ANOMALIES,
    ANOMALY_COUNTS,
    LATEST,
    LOCATIONS,
    NOW,
    OFFLINE_NODE,
    TODAY,
    Dataset,
    build,
    generate,
)
from evals.agent.run import (
    CATEGORIES,
    Call,
    CaseError,
    contains_fact,
    load_cases,
    parse_cases,
    score,
)

WINDOWS = {
    "last_24h": (NOW - 86_400, None),
    "today": (TODAY, None),
    "today_critical": (TODAY, "critical"),
    "last_7d": (NOW - 7 * 86_400, None),
    "last_7d_critical": (NOW - 7 * 86_400, "critical"),
    "last_30d": (NOW - 30 * 86_400, None),
}


@pytest.fixture(scope="module")
def dataset(eval_dataset: Dataset) -> Dataset:
    return eval_dataset


@pytest.fixture(scope="module")
def storage(dataset: Dataset) -> Iterator[SqliteStorage]:
    store = SqliteStorage(dataset.path)
    yield store
    store.close()


def test_every_build_writes_the_same_data(dataset: Dataset) -> None:
    # What build stores is generate()'s series plus constant flags and heartbeats.
    assert generate() == generate() == {k: list(v) for k, v in dataset.series.items()}
    assert dataset.anomalies == ANOMALIES


def test_build_refuses_an_existing_file(dataset: Dataset) -> None:
    with pytest.raises(FileExistsError, match="fresh path"):
        build(dataset.path)


def test_latest_values_read_back_as_documented(dataset: Dataset, storage: SqliteStorage) -> None:
    results = storage.query_series(
        SeriesQuery(start=NOW - 30 * 86_400, end=NOW, step=300, cluster="homelab")
    )
    latest = {(r.node, r.sensor, r.metric): r.points[-1].last for r in results}
    assert latest == pytest.approx(dict(LATEST))
    locations = {r.node: r.location for r in results}
    assert locations == dict(LOCATIONS)


def test_warehouse_temperature_now_and_its_spike(storage: SqliteStorage) -> None:
    (n1, n2) = storage.query_series(
        SeriesQuery(start=TODAY, end=NOW, step=300, metric="temperature", location="warehouse")
    )
    assert (n1.node, n1.points[-1].last) == ("pi-node-1", 18.4)
    assert (n2.node, n2.points[-1].last) == ("pi-node-2", 18.9)
    assert max(p.max for p in n1.points) == 93.8  # the critical spike at 13:55


def test_yesterday_was_warmer_in_the_warehouse(storage: SqliteStorage) -> None:
    def mean(start: float, end: float) -> float:
        (result,) = storage.query_series(
            SeriesQuery(start=start, end=end, step=3600, metric="temperature", node="pi-node-2")
        )
        total = sum(p.mean * p.count for p in result.points)
        return total / sum(p.count for p in result.points)

    day = 86_400
    assert mean(NOW - day - 3600, NOW - day) - mean(NOW - 3600, NOW) > 1.5


def test_the_garage_went_quiet_at_11_50(storage: SqliteStorage) -> None:
    results = storage.query_series(
        SeriesQuery(start=TODAY, end=NOW, step=300, node=OFFLINE_NODE, metric="temperature")
    )
    (garage,) = results
    assert garage.points[-1].ts == NOW - 2.5 * 3600 - 300  # the 11:45 bucket ends at 11:50


def test_node_health_by_the_real_assessment(storage: SqliteStorage) -> None:
    status = {}
    for row in storage.list_nodes():
        beat = Beat(
            row.ts,
            row.interval_s,
            row.health,
            row.outbox_depth,
            row.outbox_dropped,
            row.previous_outbox_depth,
        )
        status[row.node] = assess(beat, NOW, Thresholds()).status
    assert status == {
        "pi-node-1": "healthy",
        "pi-node-2": "healthy",
        "pi-node-3": "warning",
        "pi-node-4": "healthy",
        "pi-node-5": "healthy",
        "pi-node-6": "offline",
    }
    node3 = next(r for r in storage.list_nodes() if r.node == "pi-node-3")
    assert node3.health["cpu_percent"] == 94.0
    assert node3.workloads == ["edge-reporter", "frigate", "postgres"]


@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_anomaly_counts_per_window(storage: SqliteStorage, window: str) -> None:
    start, severity = WINDOWS[window]
    rows = storage.query_anomalies(
        AnomalyQuery(start=start, end=NOW, limit=1000, severity=severity)
    )
    assert len(rows) == ANOMALY_COUNTS[window]


def test_every_flagged_value_is_within_its_aggregate(dataset: Dataset) -> None:
    for flag in ANOMALIES:
        buckets = dataset.series[(flag.node, flag.sensor, flag.metric)]
        (bucket,) = [b for b in buckets if b.start <= flag.ts < b.start + b.width]
        assert bucket.min <= flag.value <= bucket.max


def test_case_files_are_sound() -> None:
    cases = load_cases()
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids))
    per_category = Counter(c.category for c in cases)
    assert set(per_category) == set(CATEGORIES)
    assert min(per_category.values()) >= 12, per_category
    assert len(cases) >= 170
    seeds = {
        "What's the temperature in the warehouse?",
        "Show me all sensor readings from warehouse Pi nodes in the last hour",
        "Show me sensor anomalies",
        "List all Pi nodes and their health status",
        "Why is pi-node-3 under high load?",
    }
    assert seeds <= {c.question for c in cases}
    for case in cases:
        assert case.facts or case.tools, case.id


def test_a_malformed_case_is_refused_with_its_id() -> None:
    with pytest.raises(CaseError, match=r"'x-1'.*keys"):
        parse_cases("- id: x-1\n  question: q\n  fact: [a]\n", "counts", "counts.yaml")


@pytest.mark.parametrize(
    ("answer", "fact", "found"),
    [
        ("pi-node-1: 18.4 °C", "18.4 °C", True),
        ("pi-node-1: 18.4°C", "18.4 °C", True),
        ("pi-node-1: 18.4 C", "18.4 °C", True),
        ("it is 118.4 °C", "18.4 °C", False),
        ("load 3.805", "3.80", False),
        ("There are 6 Nodes", "6 nodes", True),
        ("16 nodes", "6 nodes", False),
    ],
)
def test_fact_matching(answer: str, fact: str, found: bool) -> None:
    assert contains_fact(answer, fact) is found


def test_scoring_checks_tools_times_and_facts(dataset: Dataset) -> None:
    (case,) = parse_cases(
        "- id: t\n  question: q\n  tools:\n    - name: metric_summary\n"
        "      args: {location: Warehouse, start: '2026-11-26T13:20:00Z'}\n"
        "  facts: ['18.4 °C']\n  absent: ['kitchen']\n",
        "current_value",
    )
    good = [Call("metric_summary", {"location": "warehouse", "start": "2026-11-26T13:21:00Z"})]
    assert score(case, "18.4 °C", good, NOW, dataset.tz) == ()
    default_window = [Call("metric_summary", {"location": "warehouse"})]
    assert score(case, "18.4 °C", default_window, NOW, dataset.tz) == ()
    late = [Call("metric_summary", {"location": "warehouse", "start": "2026-11-26T13:30:00Z"})]
    assert len(score(case, "18.4 °C in the kitchen", late, NOW, dataset.tz)) == 2
