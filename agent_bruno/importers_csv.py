"""The CSV parser of bulk readings: a plain body split into columns by string operations, else
column by column with the csv reader, else row by row (which names every refused row); the
shared validation is `importers`'."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import orjson

from agent_bruno.importers import (
    _MISSING,
    _NAME_FIELDS,
    REQUIRED_COLUMNS,
    BodyError,
    Parsed,
    _checked,
    _Malformed,
    _series_keys,
    _validate_items,
)
from agent_bruno.reading_columns import ReadingColumns


def _csv_text(body: bytes) -> str:
    """The body as text (a UTF-8 BOM dropped); 400 when it is not UTF-8."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BodyError(
            400, f"CSV is not UTF-8 (byte {exc.start}): re-encode the file as UTF-8"
        ) from None


def _check_header(header: list[str]) -> None:
    """422 when the header row lacks a required column."""
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise BodyError(
            422,
            f"CSV header {header} lacks column(s) {missing}; "
            f"the first line must name {', '.join(REQUIRED_COLUMNS)} (cluster optional)",
            field="header",
        )


# A plain decimal number (what `parse_number` takes, without its rarer whitespace) is made of
# these characters alone; among such strings, `float` takes exactly the plain numbers.
_NUMBER_CHARS = str.maketrans("", "", "0123456789+-.eE \t,")


def _numbers(column: Sequence[str]) -> list[float] | None:
    """The column's numbers, when every field is a plain number; None otherwise.

    Read as one JSON array when they are all JSON numbers too (most are: no `+`, no `5.`),
    which orjson reads several times as fast as `float` one by one, to the same values (both
    round correctly)."""
    text = ",".join(column)
    if text.translate(_NUMBER_CHARS):
        return None
    try:
        numbers: list[float] = orjson.loads("[" + text + "]")
    except orjson.JSONDecodeError:
        pass
    else:
        # A field holding a comma (quoted) gives one more number, which the count catches:
        # the only fields giving fewer are empty ones, which are no JSON. JSON reads `-0` as
        # the integer 0, which has no sign: `float` then, for its -0.0.
        if len(numbers) == len(column) and not ("-" in text and 0 in numbers):
            return numbers
    try:
        return list(map(float, column))
    except ValueError:
        return None


def _csv_columns(header: list[str], fields: Sequence[Sequence[str]]) -> ReadingColumns | None:
    """CSV columns (`fields[i]`: column i's fields), every row good, as readings; None when
    any row needs a closer look (a time as ISO 8601 text, a bad number or name)."""
    if any(name not in header for name in REQUIRED_COLUMNS):
        return None  # the row-by-row path names what is missing
    column = {name: i for i, name in enumerate(header)}  # a repeated name: the last wins
    ts, values = _numbers(fields[column["ts"]]), _numbers(fields[column["value"]])
    if ts is None or values is None:
        return None
    if "cluster" in column:  # an empty field: the default cluster, as if the column were not
        clusters: list[Any] = [c or _MISSING for c in fields[column["cluster"]]]
    else:
        clusters = [_MISSING] * len(ts)
    found = _series_keys(clusters, [fields[column[name]] for name in _NAME_FIELDS])
    numbers = _checked(ts, values)
    if found is None or numbers is None:
        return None
    return ReadingColumns(found[0], found[1], *numbers)


def _csv_by_column(text: str) -> Parsed | None:
    """An all-good CSV body parsed column by column by the C csv reader (quotes and all).
    None when any row needs a closer look, which the row-by-row path gives."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[list[str]] = []
    lines: list[int] = []
    try:
        header = next(reader, [])
        for record in reader:
            if record:  # blank lines are skipped, as DictReader does
                records.append(record)
                lines.append(reader.line_num)
    except csv.Error:
        return None
    width = len(header)
    if not records or any(len(r) != width for r in records):
        return None
    columns = _csv_columns(header, list(zip(*records, strict=True)))
    return None if columns is None else Parsed(columns, positions=lines, by_line=True)


def _csv_plain(text: str) -> Parsed | None:
    """A plain CSV body (no quotes, backslashes or blank lines; the same number of fields on
    every line) split into columns with string operations alone. None when the body is not
    that plain or any row needs a closer look; the other paths then read it."""
    if '"' in text or "\\" in text or "\r" in text:
        return None
    head, _, rest = text.partition("\n")
    header = head.split(",")
    rest = rest.rstrip("\n")
    width = len(header)
    if len(set(header)) != width or width < 2 or not rest:
        return None
    # Each line end becomes a field of its own, "\n" (which no other field can be): every line
    # has `width` fields when and only when the line ends are every (width+1)-th field. A blank
    # line (one field) fails it too. (No two-character `in` test here: a search for "\n\n" or
    # "\r\n" costs as much as the split, where one for a single character is a memchr.)
    ends = rest.count("\n")
    fields = rest.replace("\n", ",\n,").split(",")
    if len(fields) != (ends + 1) * (width + 1) - 1:
        return None
    if fields[width :: width + 1].count("\n") != ends:
        return None
    columns = [fields[i :: width + 1] for i in range(width)]
    parsed = _csv_columns(header, columns)
    if parsed is None:
        return None
    return Parsed(parsed, positions=list(range(2, ends + 3)), by_line=True)


def parse_csv(body: bytes) -> Parsed:
    """Parse CSV with a header row naming at least the required columns: a plain body split
    into columns by string operations, else column by column with the csv reader, else row by
    row (which names every refused row)."""
    text = _csv_text(body)
    plain = text.replace("\r\n", "\n") if "\r" in text else text
    return _csv_plain(plain) or _csv_by_column(text) or csv_by_row(text)


def csv_by_row(text: str) -> Parsed:
    """Parse CSV text row by row, naming each refused row by its line (the reference path)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    _check_header(list(header))
    items: list[tuple[int, Any]] = []
    try:
        for record in reader:
            if None in record:
                many = _Malformed(f"more fields than the header's {len(header)}")
                items.append((reader.line_num, many))
                continue
            if any(v is None for v in record.values()):
                few = _Malformed(f"fewer fields than the header's {len(header)}")
                items.append((reader.line_num, few))
                continue
            if not record.get("cluster"):
                record.pop("cluster", None)
            items.append((reader.line_num, record))
    except csv.Error as exc:
        raise BodyError(400, f"CSV syntax error at line {reader.line_num}: {exc}") from None
    return _validate_items(items, by_line=True)
