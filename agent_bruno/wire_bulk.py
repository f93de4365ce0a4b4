"""Wire format v1, the body of `POST /v1/readings`: bulk rows (JSON list, `{"readings": [...]}`;
NDJSON and CSV rows are validated as the same rows) and their validators."""

from __future__ import annotations

from typing import Annotated, NotRequired

from pydantic import FailFast, TypeAdapter
from typing_extensions import TypedDict

from agent_bruno.wire_fields import FlexNumber, FlexTimestamp, Name, Unit


class BulkReading(TypedDict):
    """One row of `POST /v1/readings` (a TypedDict: validating thousands is twice as fast)."""

    ts: FlexTimestamp
    node: Name
    location: Name
    sensor: Name
    metric: Name
    value: FlexNumber
    unit: Unit
    cluster: NotRequired[Name]


class ReadingsObject(TypedDict):
    """The object form of a bulk body: `{"readings": [...]}`."""

    readings: list[BulkReading]


READING_ADAPTER: TypeAdapter[BulkReading] = TypeAdapter(BulkReading)
# The fast path of a bulk body: valid as a whole, or (at the first bad row, FailFast) not.
READINGS_ADAPTER: TypeAdapter[list[BulkReading]] = TypeAdapter(
    Annotated[list[BulkReading], FailFast()]
)
READINGS_BODY_ADAPTER: TypeAdapter[list[BulkReading] | ReadingsObject] = TypeAdapter(
    list[BulkReading] | ReadingsObject
)
