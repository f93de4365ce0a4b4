"""Pure parsers of bulk readings (JSON, NDJSON; CSV in `importers_csv`) that name every bad row.

A body whose rows are all good is read straight into columns (`ReadingColumns`): msgspec
decodes a JSON body into typed rows with no dictionary per row (string splitting, for plain
CSV, gives the fields), numpy checks every time and value at once, and pydantic checks each
distinct series' names once. Any row that needs a closer look (a
time as text, a missing field, a bad name) sends the body down the row-by-row path, which
validates every row with the wire model and names each refused one; both paths give the same
readings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import Any, NotRequired

import msgspec
import numpy as np
import orjson
from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict

from agent_bruno.reading_columns import Indices, ReadingColumns, SeriesKey
from agent_bruno.wire import (
    DEFAULT_CLUSTER,
    MAX_REJECTED_LISTED,
    READING_ADAPTER,
    READINGS_ADAPTER,
    TS_MAX,
    TS_MIN,
    BulkReading,
    Name,
    Rejected,
    Unit,
    describe_error,
)

REQUIRED_COLUMNS = ("ts", "node", "location", "sensor", "metric", "value", "unit")


class BodyError(ValueError):
    """The body as a whole cannot be read; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


@dataclass(slots=True)
class Parsed:
    """Valid readings ready to store, where each came from, and the rows that were refused.

    `positions[i]` is reading i's index in the body (JSON) or its line number (NDJSON, CSV).
    """

    columns: ReadingColumns = field(default_factory=ReadingColumns.empty)
    rejected: list[Rejected] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    by_line: bool = False
    # Refused rows beyond the first MAX_REJECTED_LISTED: counted, not described (describing
    # 200,000 bad lines took 40 s and answered with 200,000 items).
    more_rejected: int = 0

    @property
    def rows(self) -> list[BulkReading]:
        """The valid readings as rows."""
        return self.columns.rows()

    def refuse(self, make: Callable[[], Rejected]) -> None:
        """Name a refused row, or only count it once enough are named."""
        if len(self.rejected) < MAX_REJECTED_LISTED:
            self.rejected.append(make())
        else:
            self.more_rejected += 1


def json_error(exc: orjson.JSONDecodeError) -> BodyError:
    """A 400 naming the line, column and position of a JSON syntax error."""
    return BodyError(
        400,
        f"malformed JSON at line {exc.lineno}, column {exc.colno} (position {exc.pos}): {exc.msg}",
        line=exc.lineno,
        column=exc.colno,
        position=exc.pos,
    )


@dataclass(frozen=True, slots=True)
class _Malformed:
    """A row refused before validation (bad JSON, a wrong number of CSV fields)."""

    error: str


def _rejected(index: int | None, line: int | None, ident: Any, exc: ValidationError) -> Rejected:
    return Rejected(
        index=index,
        line=line,
        id=str(ident) if ident is not None else None,
        error=describe_error(exc),
    )


def _validate_items(items: Iterable[tuple[int, Any]], by_line: bool) -> Parsed:
    """Validate items one by one (in order), naming each refused one by index or line."""
    out = Parsed(by_line=by_line)
    rows: list[BulkReading] = []
    for pos, item in items:
        if isinstance(item, _Malformed):
            out.refuse(partial(Rejected, line=pos, error=item.error))
            continue
        try:
            rows.append(READING_ADAPTER.validate_python(item))
            out.positions.append(pos)
        except ValidationError as exc:
            ident = item.get("id") if isinstance(item, dict) else None
            out.refuse(
                partial(
                    _rejected, pos if not by_line else None, pos if by_line else None, ident, exc
                )
            )
    out.columns = ReadingColumns.from_rows(rows)
    return out


class _SeriesNames(TypedDict):
    """The names of a reading (its series), validated once per distinct series."""

    node: Name
    location: Name
    sensor: Name
    metric: Name
    unit: Unit
    cluster: NotRequired[Name]


_SERIES_ADAPTER: TypeAdapter[_SeriesNames] = TypeAdapter(_SeriesNames)
_NAME_FIELDS = ("node", "location", "sensor", "metric", "unit")
_TS = itemgetter("ts")
_VALUE = itemgetter("value")
_MISSING: Any = msgspec.UNSET  # a row without a cluster (also what msgspec leaves unset)
_JSON_NUMBERS = frozenset({int, float})  # not bool: a JSON true is no number


def _codes(column: Sequence[Any]) -> tuple[list[Any], Indices]:
    """The distinct values of a column (first seen first) and each field's index among them;
    TypeError when a value cannot be hashed (a list, an object)."""
    distinct = list(dict.fromkeys(column))
    if len(distinct) == 1:
        return distinct, np.zeros(len(column), dtype=np.intp)
    index = {value: i for i, value in enumerate(distinct)}
    return distinct, np.fromiter(map(index.__getitem__, column), dtype=np.intp, count=len(column))


def _series_keys(
    clusters: Sequence[Any], names: Sequence[Sequence[Any]]
) -> tuple[list[SeriesKey], Indices] | None:
    """The distinct series of the rows and each row's index among them; None when a name is
    not valid (the row path names it).

    `clusters[i]` is row i's cluster or `_MISSING`; `names` are the node, location, sensor,
    metric and unit columns. A row's five names are joined by NUL into one string, so each row
    costs one string hash, not five or a tuple's (a name holding a NUL is no valid name, so
    two rows sharing a joined string either share their names or the first of them is
    refused).
    """
    try:
        joined = list(map("\x00".join, zip(*names, strict=True)))
        coded = [_codes(clusters), _codes(joined)]
    except TypeError:  # a name that is no string, a cluster that cannot be hashed
        return None
    (cluster_values, cluster_codes), (name_values, name_codes) = coded
    if len(cluster_values) == 1 and len(name_values) == 1:
        firsts, series = [0], name_codes
    else:
        code = cluster_codes * len(name_values) + name_codes
        _, first, series = np.unique(code, return_index=True, return_inverse=True)
        firsts = first.tolist()
    keys: list[SeriesKey] = []
    for row in firsts:
        cluster = clusters[row]
        five = tuple(column[row] for column in names)
        if not (cluster is _MISSING or type(cluster) is str):
            return None
        shape = dict(zip(_NAME_FIELDS, five, strict=True))
        if cluster is not _MISSING:
            shape["cluster"] = cluster
        try:
            _SERIES_ADAPTER.validate_python(shape)
        except ValidationError:
            return None
        keys.append((DEFAULT_CLUSTER if cluster is _MISSING else cluster, *five))
    return keys, series.astype(np.intp, copy=False)


def _checked(ts: Any, values: Any) -> tuple[Any, Any] | None:
    """Times and values as float arrays when every time is within 2000-2100 and every value
    finite; None otherwise."""
    try:
        t = np.array(ts, dtype=np.float64)
        v = np.array(values, dtype=np.float64)
    except (OverflowError, ValueError, TypeError):
        return None
    if len(t) and not (t.min() >= TS_MIN and t.max() <= TS_MAX):
        return None  # NaN fails too
    if not np.isfinite(v).all():
        return None
    return t, v


def _json_columns(data: list[Any]) -> ReadingColumns | None:
    """An array of readings, every one good, as columns; None when any needs a closer look
    (a time or value written as text, a missing field, a bad name)."""
    if not data:
        return ReadingColumns.empty()
    if set(map(type, data)) != {dict}:
        return None
    try:
        ts, values = list(map(_TS, data)), list(map(_VALUE, data))
        names = [list(map(itemgetter(name), data)) for name in _NAME_FIELDS]
    except KeyError:
        return None
    if not (set(map(type, ts)) | set(map(type, values))) <= _JSON_NUMBERS:
        return None
    clusters = list(map(dict.get, data, repeat("cluster"), repeat(_MISSING)))
    found = _series_keys(clusters, names)
    numbers = _checked(ts, values)
    if found is None or numbers is None:
        return None
    return ReadingColumns(found[0], found[1], *numbers)


class _CleanRow(msgspec.Struct, gc=False):
    """A bulk row as msgspec decodes it when every field has its plain JSON type (numbers for
    the time and value, strings for the names); anything else fails the decode."""

    ts: float
    node: str
    location: str
    sensor: str
    metric: str
    value: float
    unit: str
    cluster: str | msgspec.UnsetType = msgspec.UNSET


class _CleanBody(msgspec.Struct, gc=False):
    """The object form of a bulk body, `{"readings": [...]}`."""

    readings: list[_CleanRow]


_CLEAN = msgspec.json.Decoder(list[_CleanRow] | _CleanBody)
_ROW_TS, _ROW_VALUE = attrgetter("ts"), attrgetter("value")
_ROW_NAMES = [attrgetter(name) for name in _NAME_FIELDS]
_ROW_CLUSTER = attrgetter("cluster")


def _clean_columns(body: bytes) -> tuple[ReadingColumns, int] | None:
    """A JSON body whose rows are all good, as columns, and how many rows it held; None when
    any row needs a closer look (or the body is no JSON array of readings).

    Decoding to slotted rows skips the dictionary (and its dealloc) orjson builds per row, two
    thirds of the cost of a clean body. What it accepts the dictionary path accepts alike:
    numbers as JSON numbers (not booleans), names as strings, the last of repeated keys.
    """
    try:
        decoded = _CLEAN.decode(body)
    except msgspec.DecodeError:  # malformed, or a row not of the plain types
        return None
    rows = decoded.readings if isinstance(decoded, _CleanBody) else decoded
    if not rows:
        return ReadingColumns.empty(), 0
    names = [list(map(get, rows)) for get in _ROW_NAMES]
    found = _series_keys(list(map(_ROW_CLUSTER, rows)), names)
    numbers = _checked(list(map(_ROW_TS, rows)), list(map(_ROW_VALUE, rows)))
    if found is None or numbers is None:
        return None
    return ReadingColumns(found[0], found[1], *numbers), len(rows)


def _json_rows(data: list[Any]) -> ReadingColumns | None:
    """Every row good, some with a time or value as text: validated at once by the wire
    model; None at the first bad row."""
    try:
        return ReadingColumns.from_rows(READINGS_ADAPTER.validate_python(data))
    except ValidationError:
        return None


def _parse_json_data(body: bytes) -> Any:
    """The decoded body; 400 naming the position of a syntax error."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise json_error(exc) from None


def parse_json(body: bytes) -> Parsed:
    """Parse `[...]` or `{"readings": [...]}`: straight into columns when every row is good,
    else row by row."""
    clean = _clean_columns(body)
    if clean is not None:
        return Parsed(clean[0], positions=list(range(clean[1])))
    data = _parse_json_data(body)
    if isinstance(data, dict) and isinstance(data.get("readings"), list):
        data = data["readings"]
    if not isinstance(data, list):
        raise BodyError(
            422,
            'the body must be a JSON array of readings or {"readings": [...]}, '
            f"got {type(data).__name__}",
            field="readings",
        )
    columns = _json_columns(data)
    if columns is None:
        columns = _json_rows(data)
    if columns is not None:
        return Parsed(columns, positions=list(range(len(columns))))
    return _validate_items(enumerate(data), by_line=False)


def parse_ndjson(body: bytes) -> Parsed:
    """Parse one reading per line; blank lines are skipped, bad lines named by number."""
    lines = [(n, line) for n, line in enumerate(body.split(b"\n"), start=1) if line.strip()]
    joined = b"[" + b",".join(line for _, line in lines) + b"]"
    clean = _clean_columns(joined)
    if clean is not None and clean[1] == len(lines):  # one reading per line
        return Parsed(clean[0], positions=[n for n, _ in lines], by_line=True)
    try:
        whole = orjson.loads(joined)
    except orjson.JSONDecodeError:
        whole = None
    # One item per line, or a line held more than one value (`{...}, {...}`): let the per-line
    # path name it, as it would whatever else the body holds.
    if isinstance(whole, list) and len(whole) == len(lines):
        columns = _json_columns(whole)
        if columns is None:
            columns = _json_rows(whole)
        if columns is not None:
            return Parsed(columns, positions=[n for n, _ in lines], by_line=True)
    items: list[tuple[int, Any]] = []
    for n, line in lines:
        try:
            items.append((n, orjson.loads(line)))
        except orjson.JSONDecodeError as exc:
            items.append((n, _Malformed(f"malformed JSON at column {exc.colno}: {exc.msg}")))
    return _validate_items(items, by_line=True)
