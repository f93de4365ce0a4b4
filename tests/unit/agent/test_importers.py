"""Pure bulk parsers: every bad row is named, good rows survive."""

from __future__ import annotations

import pytest

from agent_bruno.importers import BodyError, parse_csv, parse_json, parse_ndjson

GOOD = (
    b'{"ts": 1764160000, "node": "n", "location": "l", "sensor": "s", "metric": "m", '
    b'"value": 1, "unit": "u"}'
)


def test_json_fast_path_keeps_every_row():
    parsed = parse_json(b"[" + b",".join([GOOD] * 3) + b"]")
    assert len(parsed.rows) == 3
    assert parsed.rejected == []


@pytest.mark.parametrize(
    ("body", "line", "column"),
    [(b'[\n  {"ts": }\n]', 2, 10), (b"[1,", 1, 4), (b"", 1, 1)],
)
def test_json_syntax_error_has_position(body, line, column):
    with pytest.raises(BodyError) as info:
        parse_json(body)
    assert info.value.status == 400
    assert (info.value.detail["line"], info.value.detail["column"]) == (line, column)


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ('"abc"', "valid number"),
        ('"inf"', "finite"),
        ("null", "valid number"),
    ],
)
def test_bad_value_is_named(value, needle):
    body = GOOD.replace(b'"value": 1', f'"value": {value}'.encode())
    parsed = parse_json(b"[" + body + b"]")
    assert parsed.rows == []
    (rejected,) = parsed.rejected
    assert rejected.index == 0
    assert needle in rejected.error


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("1764160000", 1764160000.0),
        ('"1764160000.5"', 1764160000.5),
        ('"2025-11-26T12:26:40Z"', 1764160000.0),
        ('"2025-11-26T13:26:40+01:00"', 1764160000.0),
        ('"2025-11-26 12:26:40"', 1764160000.0),
    ],
)
def test_ts_forms(ts, expected):
    body = GOOD.replace(b'"ts": 1764160000', f'"ts": {ts}'.encode())
    (reading,) = parse_json(b"[" + body + b"]").rows
    assert reading["ts"] == expected


@pytest.mark.parametrize("ts", ['"yesterday"', "12", "9e12", '"2150-01-01T00:00:00Z"'])
def test_ts_out_of_range_or_unreadable(ts):
    body = GOOD.replace(b'"ts": 1764160000', f'"ts": {ts}'.encode())
    (rejected,) = parse_json(b"[" + body + b"]").rejected
    assert rejected.error.startswith("ts:")


def test_ndjson_lines_are_numbered_from_one():
    parsed = parse_ndjson(GOOD + b"\n\n[]\n" + GOOD + b"\n")
    assert len(parsed.rows) == 2
    assert [r.line for r in parsed.rejected] == [3]


@pytest.mark.parametrize("other_line", [GOOD, b"{not json"])
def test_ndjson_line_with_two_values_is_rejected_whatever_else_the_body_holds(other_line):
    """Regression: `{...}, {...}` on one line was stored as two rows by the fast path when every
    other line was good, and rejected when another line was bad."""
    parsed = parse_ndjson(GOOD + b", " + GOOD + b"\n" + other_line + b"\n")
    assert parsed.rejected[0].line == 1
    assert "malformed JSON" in parsed.rejected[0].error


def test_csv_bom_and_crlf():
    text = "\ufeffts,node,location,sensor,metric,value,unit\r\n1764160000,n,l,s,m,1.5,u\r\n"
    parsed = parse_csv(text.encode())
    assert [r["value"] for r in parsed.rows] == [1.5]


def test_csv_not_utf8_is_400():
    with pytest.raises(BodyError) as info:
        parse_csv(b"ts,node\n\xff\xfe")
    assert info.value.status == 400
