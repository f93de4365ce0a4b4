"""Pure bulk parsers: every bad row is named, good rows survive."""

from __future__ import annotations

import math
import random

import orjson
import pytest

from agent_bruno.importers import BodyError, parse_json, parse_ndjson
from agent_bruno.importers_csv import csv_by_row, parse_csv

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


# Fields a CSV export may hold, good and bad: the column-at-once path must give what the
# row-by-row path gives, or hand the body to it.
# fmt: off
_TS = ["1764160000", " 1764160060 ", "+1764160120.5", "1.76416018e9", "2025-11-26T12:00:00Z",
       "1_764_160_000", "1764160000x", "", "inf", "1e999", "946684799", "4102444800", "-5",
       '"1764160240"', '"17641\n60300"', "01764160000", "true", "null", "1764160000}"]
_VALUE = ["21.5", "-3", " 7 ", ".5", "5.", "1e3", "+2", "1_000", "nan", "1e999", "", "0x10",
          "21,5", '"22.5"', "\t8\t", "-0", "1E+2", "[1]", "{}", "2]", "false", "NaN", "%s"]
_NAME = ["n1", "pi-node-1", "", "x" * 129, "warehouse b", '"quoted, name"', "ünï", "a\tb",
         "100%", "back\\slash", "x\x00y", "{", "]", ":", "lab\r"]
_UNIT = ["°C", "%", "", "u" * 33]
# fmt: on


def _random_csv(rng: random.Random) -> bytes:
    columns = ["ts", "node", "location", "sensor", "metric", "value", "unit"]
    if rng.random() < 0.4:
        columns.append("cluster")
    if rng.random() < 0.2:
        columns.insert(rng.randrange(len(columns)), "note")
    rng.shuffle(columns)
    if rng.random() < 0.05:
        columns.remove(rng.choice(columns))
    pick = {"ts": _TS, "value": _VALUE, "unit": _UNIT, "cluster": [*_NAME, ""]}
    good = {"ts": "1764160000", "value": "21.5", "unit": "°C"}
    eol = rng.choice(["\n", "\r\n"])
    lines = [",".join(columns)]
    oddness = rng.choice([0.0, 0.01, 0.05, 0.15])
    for _ in range(rng.randrange(0, 12)):
        fields = []
        for c in columns:
            odd = rng.random() < oddness
            fields.append(rng.choice(pick.get(c, _NAME)) if odd else good.get(c, "n1"))
        if rng.random() < 0.05:
            fields.append("extra")
        if rng.random() < 0.05:
            fields.pop()
        lines.append(",".join(fields))
        if rng.random() < 0.05:
            lines.append("")
    bom = "\ufeff" if rng.random() < 0.1 else ""
    return (bom + eol.join(lines) + eol * rng.randrange(2)).encode()


@pytest.mark.parametrize("seed", range(500))
def test_csv_column_path_gives_what_the_row_path_gives(seed: int) -> None:
    body = _random_csv(random.Random(seed))
    try:
        expected = csv_by_row(body.decode("utf-8-sig"))
    except BodyError as exc:
        refused = (exc.status, exc.message)
    else:
        refused = None
    if refused is not None:
        with pytest.raises(BodyError) as info:
            parse_csv(body)
        assert (info.value.status, info.value.message) == refused
        return
    got = parse_csv(body)
    assert (got.rows, got.positions, got.by_line) == (expected.rows, expected.positions, True)
    signs = [math.copysign(1, r["value"]) for r in expected.rows]
    assert [math.copysign(1, r["value"]) for r in got.rows] == signs  # -0 is not 0
    assert (got.rejected, got.more_rejected) == (expected.rejected, expected.more_rejected)


_PLAIN_HEADER = "ts,node,location,sensor,metric,value,unit"


@pytest.mark.parametrize(
    ("header", "lines"),
    [
        # One line a field too long, the next a field short: as many fields as a good body.
        (_PLAIN_HEADER, ["1764160000,1,2,3,4,5,6,7", "1764160060,1,2,3,4,5"]),
        (_PLAIN_HEADER, ["1764160000,1,2,3,4,5,6", "", "1764160060,1,2,3,4,5,6,7"]),
        # Short, good, long: read at the first line's width, every row would look good (the
        # line ends falling in the free-text column, the skipped fields being the times).
        (
            _PLAIN_HEADER + ",note",
            [
                "1764160000,n,l,s,m,1,u",
                "1764160030,1764160060,n,l,s,m,2,u",
                "1764160090,1764160120,n,l,s,m,3,u,fine",
            ],
        ),
    ],
)
def test_csv_lines_of_uneven_width_are_named_even_when_they_balance(
    header: str, lines: list[str]
) -> None:
    body = (header + "\n" + "\n".join(lines) + "\n").encode()
    expected = csv_by_row(body.decode())
    got = parse_csv(body)
    assert (got.rows, got.positions) == (expected.rows, expected.positions)
    assert got.rejected == expected.rejected
    assert got.rejected


def test_csv_reads_what_the_same_json_reads() -> None:
    rows = [
        {"ts": 1764160000 + i, "node": f"n{i % 3}", "location": "lab", "sensor": "s",
         "metric": "temperature", "value": round(20 + i / 7, 2), "unit": "°C"}
        for i in range(500)
    ]  # fmt: skip
    text = "ts,node,location,sensor,metric,value,unit\n" + "".join(
        f"{r['ts']},{r['node']},{r['location']},{r['sensor']},{r['metric']},{r['value']},"
        f"{r['unit']}\n"
        for r in rows
    )
    parsed = parse_csv(text.encode())
    assert parsed.rows == parse_json(orjson.dumps(rows)).rows
    assert parsed.positions == list(range(2, 502))


# Fields a JSON export may hold, good and bad: the columns path must give what validating
# every row with the wire model gives, or hand the body to it.
# fmt: off
_JSON_TS: list[object] = [1764160000, 1764160060.5, "1764160120", "2025-11-26T12:00:00Z", True,
                          None, 12, 2**64 - 1, 4102444801, -1764160000, [1764160000], "inf", 1e308]
_JSON_VALUE: list[object] = [21.5, -3, 0, "7", " 8 ", "1_000", "nan", False, None, -(2**63),
                             1.7e308, {"v": 1}, 2**63, 1e-320]
_JSON_NAME: list[object] = ["n1", "pi-node-1", "", "x" * 129, "warehouse b", "ünï", "a\tb", 7,
                            None, ["n"], "lab\r", " lead", "ok)"]
# fmt: on


def _random_json(rng: random.Random) -> list[object]:
    fields = ("ts", "node", "location", "sensor", "metric", "value", "unit")
    pick = {"ts": _JSON_TS, "value": _JSON_VALUE, "unit": ["°C", "%", "", "u" * 33, 5]}
    good: dict[str, object] = {"ts": 1764160000, "value": 21.5, "unit": "°C"}
    oddness = rng.choice([0.0, 0.0, 0.01, 0.05, 0.15])
    rows: list[object] = []
    for i in range(rng.randrange(0, 12)):
        row: dict[str, object] = {}
        for f in fields:
            odd = rng.random() < oddness
            row[f] = rng.choice(pick.get(f, _JSON_NAME)) if odd else good.get(f, f"{f}{i % 2}")
        if isinstance(row["ts"], int) and not odd:
            row["ts"] = 1764160000 + i
        if rng.random() < 0.3:
            row["cluster"] = rng.choice(["default", "c2", *_JSON_NAME]) if oddness else "c2"
        if rng.random() < 0.1:
            row["note"] = "extra fields are ignored"
        if rng.random() < 0.05:
            del row[rng.choice(fields)]
        rows.append(row if rng.random() > 0.02 else rng.choice([[row], "row", 5, None]))
    return rows


@pytest.mark.parametrize("seed", range(500))
def test_json_columns_give_what_row_validation_gives(seed: int) -> None:
    from agent_bruno.importers import _validate_items

    data = _random_json(random.Random(seed))
    expected = _validate_items(enumerate(data), by_line=False)
    for body in (orjson.dumps(data), orjson.dumps({"readings": data})):
        got = parse_json(body)
        assert (got.rows, got.positions, got.by_line) == (
            expected.rows, expected.positions, False
        )  # fmt: skip
        assert (got.rejected, got.more_rejected) == (expected.rejected, expected.more_rejected)
    lines = b"\n".join(orjson.dumps(row) for row in data)
    got = parse_ndjson(lines)
    assert got.rows == expected.rows
    assert got.positions == [p + 1 for p in expected.positions]


def test_a_clean_json_body_is_read_without_a_dictionary_per_row(monkeypatch) -> None:
    """The columns come straight from the bytes (msgspec rows); orjson's dictionaries are
    built only for a body that needs a closer look."""
    import agent_bruno.importers as importers

    def no_dicts(body: bytes) -> object:
        raise AssertionError("decoded into dictionaries")

    body = b"[" + b",".join([GOOD] * 3) + b"]"
    monkeypatch.setattr(importers.orjson, "loads", no_dicts)
    assert [r["value"] for r in parse_json(body).rows] == [1.0, 1.0, 1.0]
    assert len(parse_json(b'{"readings": [' + GOOD + b"]}").rows) == 1
    assert parse_ndjson(GOOD + b"\n\n" + GOOD + b"\n").positions == [1, 3]
    with pytest.raises(AssertionError):  # a text value: the dictionary path names it
        parse_json(b"[" + GOOD.replace(b'"value": 1', b'"value": "1"') + b"]")


# Bodies where a decoder's corner could differ from orjson's dictionaries (repeated keys, a
# boolean or null where a number or name goes, huge or tiny numbers, the object form with a
# repeated or extra key, whitespace): each parses as validating every row does.
_ROW = (
    '"node": "n", "location": "l", "sensor": "s", "metric": "m", "unit": "u"'
)  # fmt: skip
_CORNERS = [
    f'[{{"ts": 1764160000, "value": 1, {_ROW}, "value": 2}}]',
    f'[{{"ts": 1764160000, "value": true, {_ROW}}}]',
    f'[{{"ts": false, "value": 1, {_ROW}}}]',
    f'[{{"ts": 1764160000, "value": 1, {_ROW}, "cluster": null}}]',
    f'[{{"ts": 1764160000, "value": 1, {_ROW}, "cluster": ""}}]',
    f'[{{"ts": 1764160000, "value": 1, {_ROW}, "node": null}}]',
    f'[{{"ts": 1764160000, "value": 1e-320, {_ROW}}}]',
    f'[{{"ts": 1764160000, "value": 123456789012345678901234567890, {_ROW}}}]',
    f'[{{"ts": 1764160000.000001, "value": -0.0, {_ROW}, "extra": [1, {{"a": null}}]}}]',
    f'{{"readings": [{{"ts": 1764160000, "value": 1, {_ROW}}}], "readings": 5}}',
    f'{{"readings": 5, "readings": [{{"ts": 1764160000, "value": 1, {_ROW}}}]}}',
    f'{{"note": "x", "readings": [{{"ts": 1764160000, "value": 1, {_ROW}}}]}}',
    f' \n[ {{"ts": 1764160000, "value": 1, {_ROW}}} ] \n',
    f'[{{"ts": 1764160000, "value": 1, {_ROW}}}, {{"ts": 1764160001, "value": 2, {_ROW}}}]',
]


@pytest.mark.parametrize("body", _CORNERS)
def test_decoder_corners_parse_as_row_validation_does(body: str) -> None:
    from agent_bruno.importers import _validate_items

    data = orjson.loads(body)
    if isinstance(data, dict) and not isinstance(data.get("readings"), list):
        with pytest.raises(BodyError):  # the last "readings" is no list: 422 as before
            parse_json(body.encode())
        return
    got = parse_json(body.encode())
    rows = data["readings"] if isinstance(data, dict) else data
    expected = _validate_items(enumerate(rows), by_line=False)
    assert (got.rows, got.positions) == (expected.rows, expected.positions)
    assert got.rejected == expected.rejected
    signs = [math.copysign(1, r["value"]) for r in expected.rows]
    assert [math.copysign(1, r["value"]) for r in got.rows] == signs
