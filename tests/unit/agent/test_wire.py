"""Wire format v1: the published schemas are current and every example validates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent_bruno.importers import parse_ndjson
from agent_bruno.importers_csv import parse_csv
from agent_bruno.wire import (
    BATCH_ADAPTER,
    EVENT_ADAPTER,
    READINGS_BODY_ADAPTER,
    SCHEMA_DIR,
    IngestResponse,
    main,
    render,
    schemas,
)

EXAMPLES = SCHEMA_DIR / "examples"


@pytest.mark.parametrize("name", sorted(schemas()))
def test_schema_files_are_up_to_date(name):
    stored = (SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert stored == render(schemas()[name]), (
        f"docs/wire/{name} is stale; run `.venv/bin/python -m agent_bruno.wire`"
    )


def test_regeneration_writes_the_same_files(tmp_path: Path):
    assert main([str(tmp_path)]) == 0
    for name in schemas():
        assert (tmp_path / name).read_text() == (SCHEMA_DIR / name).read_text()


def test_event_examples_validate():
    batch = BATCH_ADAPTER.validate_json((EXAMPLES / "events-batch.json").read_bytes())
    assert [e.type for e in batch.events] == [
        "reading",
        "aggregate",
        "heartbeat",
        "explanation",
        "episode",
    ]
    IngestResponse.model_validate_json((EXAMPLES / "events-response.json").read_bytes())


@pytest.mark.parametrize("name", ["readings.json", "readings-object.json"])
def test_json_reading_examples_validate(name):
    READINGS_BODY_ADAPTER.validate_json((EXAMPLES / name).read_bytes())


def test_ndjson_and_csv_examples_parse_cleanly():
    for parsed in (
        parse_ndjson((EXAMPLES / "readings.ndjson").read_bytes()),
        parse_csv((EXAMPLES / "readings.csv").read_bytes()),
    ):
        assert parsed.rejected == []
        assert len(parsed.rows) == 2


def test_schema_names_the_five_event_types():
    schema = json.loads((SCHEMA_DIR / "events-v1.schema.json").read_text())
    names = {"ReadingEvent", "AggregateEvent", "HeartbeatEvent", "ExplanationEvent", "EpisodeEvent"}
    assert names <= set(schema["$defs"])


AGG = {"id": "a", "type": "aggregate", "ts": 1764160300.0, "sensor": "s", "metric": "m",
       "unit": "u", "start": 1764160000.0, "end": 1764160300.0, "count": 3,
       "min": 1.0, "max": 3.0, "mean": 2.0, "last": 3.0}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"count": 0}, "count"),
        ({"min": 2.5}, "mean 2.0 is outside"),
        ({"last": 9.0}, "last 9.0 is outside"),
        ({"start": 1764160400.0}, "is after end"),
        ({"mean": float("inf")}, "finite"),
        ({"type": "other"}, "tag"),
    ],
)
def test_aggregate_rules(change, needle):
    with pytest.raises(ValidationError, match=needle):
        EVENT_ADAPTER.validate_python({**AGG, **change})


def test_unknown_fields_are_ignored_for_forward_compatibility():
    event = EVENT_ADAPTER.validate_python({**AGG, "p95": 2.9})
    assert not hasattr(event, "p95")
