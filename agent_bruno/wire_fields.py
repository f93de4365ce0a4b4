"""Wire format v1, its fields: limits, names, units, times and numbers (also written as text),
and how a validation error is told in one line (`describe_error`). The models are in `wire.py`."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, Strict, StringConstraints, ValidationError

from agent_bruno.textsafe import one_line

SCHEMA_VERSION = 1
TS_MIN = 946_684_800.0  # 2000-01-01T00:00:00Z
TS_MAX = 4_102_444_800.0  # 2100-01-01T00:00:00Z
DEFAULT_CLUSTER = "default"
MAX_EVENTS = 10_000
# Counters must fit SQLite's 64-bit INTEGER; a bigger one would fail the write, not the item.
MAX_COUNT = 2**53


def parse_iso_ts(value: str) -> float:
    """Unix seconds from ISO 8601 text (naive means UTC), within 2000–2100."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is neither Unix seconds nor an ISO 8601 time "
            "(e.g. 1764160000 or 2025-11-26T12:00:00Z)"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    ts = parsed.timestamp()
    if not TS_MIN <= ts <= TS_MAX:
        raise ValueError(f"{value!r} is outside 2000-01-01 .. 2100-01-01")
    return ts


# A number written as text (CSV, quoted JSON): plain decimal or exponent notation. Python's
# float() also takes '1_000', ' 12 ' and 'infinity'; a sensor export does not mean those.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number(value: str) -> float:
    """A finite number from text such as '21.5', '-3', '1e3' (not '1_000', 'inf', '0x10')."""
    text = value.strip()
    if not _NUMBER.fullmatch(text):
        if text.lower().lstrip("+-") in ("inf", "infinity", "nan"):
            raise ValueError(f"{value[:40]!r} is not a finite number")
        raise ValueError(f"{value[:40]!r} is not a valid number; write it like 1000, 21.5 or 1.5e3")
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{value[:40]!r} is not a finite number (too large)")
    return number


def parse_ts_text(value: str) -> float:
    """Unix seconds from text: a number (as `parse_number`) or ISO 8601, within 2000–2100."""
    if not _NUMBER.fullmatch(value.strip()):
        return parse_iso_ts(value)
    ts = parse_number(value)
    if not TS_MIN <= ts <= TS_MAX:
        raise ValueError(f"{value!r} is outside 2000-01-01 .. 2100-01-01 (946684800 .. 4102444800)")
    return ts


# Names (cluster, location, node, sensor, metric, workload) reach answers, terminals and model
# prompts, so they are plain: letters, digits (any script), spaces and _ . - : / # + @ ( ),
# starting and ending with neither a space nor a control character. A pattern (checked in
# Rust) and not a Python validator: it runs on every bulk row.
NAME_PATTERN = r"^\w(?:[\w .:/#+@()\-]*[\w.:/#+@()\-])?$"
NAME_RULE = (
    "1-128 letters, digits, spaces and _ . - : / # + @ ( ), starting with a letter or digit "
    "(no newlines or control characters)"
)
_NO_CONTROLS = r"^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NAME_PATTERN)]
Unit = Annotated[str, StringConstraints(max_length=32, pattern=_NO_CONTROLS)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Timestamp = Annotated[
    float,
    Field(ge=TS_MIN, le=TS_MAX, allow_inf_nan=False, description="Unix seconds, UTC"),
]
if TYPE_CHECKING:
    FlexTimestamp = float  # what validation always produces
    FlexNumber = float
else:
    # Numbers take the strict fast branch with no Python call; only text runs a parser. A
    # BeforeValidator on every row cost 40 % of bulk validation time.
    FlexTimestamp = Annotated[
        Annotated[Timestamp, Strict()]
        | Annotated[
            str,
            AfterValidator(parse_ts_text),
            Field(description="Unix seconds as text, or ISO 8601"),
        ],
        Field(union_mode="left_to_right"),
    ]
    FlexNumber = Annotated[
        Annotated[Finite, Strict()]
        | Annotated[str, AfterValidator(parse_number), Field(description="a number as text")],
        Field(union_mode="left_to_right"),
    ]
EventId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_NO_CONTROLS)]
Severity = Literal["warning", "critical"]
# What a flag says: the sensor is broken (kept out of statistics), or the world did something odd.
Kind = Literal["sensor_fault", "process_anomaly"]
# The rule that fired (open vocabulary, listed in ARCHITECTURE.md): e.g. hard_limit, stuck_value.
RuleName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
# A reason is shown inside one line of an answer: its newlines and controls become escapes.
Reason = Annotated[str, StringConstraints(max_length=2048), AfterValidator(one_line)]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
# Any finite time, even a wrong one: a clock far off is what it is there to measure.
SentAt = (
    Annotated[
        float,
        Field(
            ge=0,
            allow_inf_nan=False,
            description="the sender's clock when it sent the batch (Unix seconds); the agent "
            "estimates the sender's clock offset from it",
        ),
    ]
    | None
)


_BRANCH = re.compile(r"^(constrained-|function-|str$|float$|int$)")


def describe_error(exc: ValidationError, prefix: str = "", limit: int = 5) -> str:
    """One line naming each failing field, the problem and the offending value.

    Where a union's branches all failed on one field, only the most telling error is named: a
    parser's own message if one ran, else the first branch's.
    """
    found: dict[str, tuple[str, str]] = {}  # path -> (type, text), in order of appearance
    for err in exc.errors(include_url=False):
        loc = (p for p in err["loc"] if not (isinstance(p, str) and _BRANCH.match(p)))
        path = ".".join(str(p) for p in (prefix, *loc) if p != "")
        shown = repr(err.get("input"))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        where = f"{path}: " if path else ""
        got = "" if err["type"] == "missing" else f" (got {shown})"
        message = str(err["msg"])
        if err["type"] == "string_pattern_mismatch":
            pattern = (err.get("ctx") or {}).get("pattern")
            named = pattern == NAME_PATTERN
            message = f"expected {NAME_RULE}" if named else "no control characters allowed"
        text = f"{where}{message}{got}"
        kind = str(err["type"])
        if path not in found or (kind == "value_error" and found[path][0] != "value_error"):
            found[path] = (kind, text)
    parts = [text for _, text in found.values()][:limit]
    more = len(found) - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
