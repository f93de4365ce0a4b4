"""Scoring one answer: every expected tool call (name and a subset of its arguments, times
within a tolerance) among the calls, every fact in the answer, no `absent` string in it."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from evals.agent.cases import Call, Case, ToolSpec

TIME_ARGS = ("start", "end")
TIME_TOLERANCE_S = 120.0
# What a tool uses when `start` is not given; a call that leaves it out asked for this window.
DEFAULT_WINDOW_S: Mapping[str, float] = {
    "metric_summary": 3600.0,
    "metric_series": 3600.0,
    "anomalies": 86_400.0,
}


def normalize(text: str) -> str:
    """Lower case, no degree sign, single spaces, no space between a number and its unit."""
    text = " ".join(text.replace("°", " ").lower().split())
    return re.sub(r"(?<=\d) (?=[a-z%])", "", text)


def contains_fact(answer: str, fact: str) -> bool:
    """Whether `fact` is in `answer`, normalized; a number may not be part of a longer one."""
    needle = normalize(fact)
    if not needle:
        return True
    pattern = re.escape(needle)
    if needle[0].isdigit() or needle[0] in "-.":
        pattern = r"(?<![\d.])" + pattern
    if needle[-1].isdigit():
        pattern += r"(?![\d])"
    return re.search(pattern, normalize(answer)) is not None


TimeParser = Callable[[str, float, tzinfo, str], float]


def _iso_time(value: str, now: float, tz: tzinfo, role: str) -> float:
    """ISO 8601 or Unix seconds (the fallback when the agent's parser is not importable)."""
    del now, role
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)).timestamp()


def default_time_parser() -> TimeParser:
    """`agent_bruno.agent.nlu.timeexpr.parse_time_arg` when present, else ISO 8601 only."""
    try:
        module = importlib.import_module("agent_bruno.agent.nlu.timeexpr")
    except ImportError:
        return _iso_time
    parse = module.parse_time_arg

    def _parse(value: str, now: float, tz: tzinfo, role: str) -> float:
        return float(parse(value, now, tz, role=role))

    return _parse


def _arg_matches(
    key: str, want: Any, call: Call, now: float, tz: tzinfo, parse_time: TimeParser
) -> bool:
    """Whether the call's argument `key` satisfies `want`."""
    got = call.args.get(key)
    if key in TIME_ARGS:
        role = "start" if key == "start" else "end"
        expected = parse_time(str(want), now, tz, role)
        if got is None or got == "":
            if key == "end":
                actual = now
            elif call.name in DEFAULT_WINDOW_S:
                actual = now - DEFAULT_WINDOW_S[call.name]
            else:
                return False
        else:
            try:
                actual = parse_time(str(got), now, tz, role)
            except (ValueError, OverflowError):
                return False
        return abs(actual - expected) <= TIME_TOLERANCE_S
    if got is None:
        return False
    if isinstance(want, str):
        return isinstance(got, str) and got.strip().lower() == want.strip().lower()
    return bool(got == want)


def _satisfies(spec: ToolSpec, call: Call, now: float, tz: tzinfo, parse_time: TimeParser) -> bool:
    """Whether `call` is `spec`'s tool with (at least) its arguments."""
    return call.name == spec.name and all(
        _arg_matches(k, v, call, now, tz, parse_time) for k, v in spec.args.items()
    )


def score(
    case: Case,
    answer: str,
    calls: Sequence[Call],
    now: float,
    tz: tzinfo,
    parse_time: TimeParser | None = None,
) -> tuple[str, ...]:
    """Why the case failed (empty: it passed)."""
    parse = parse_time or default_time_parser()
    reasons: list[str] = []
    for expected in case.tools:
        if not any(_satisfies(s, c, now, tz, parse) for s in expected.alternatives for c in calls):
            made = ", ".join(ToolSpec(c.name, c.args).describe() for c in calls) or "none"
            reasons.append(f"missing tool call {expected.describe()} (made: {made})")
    for fact in case.facts:
        if not contains_fact(answer, fact):
            reasons.append(f"missing fact {fact!r}")
    for text in case.absent:
        if contains_fact(answer, text):
            reasons.append(f"answer contains {text!r}, which it must not")
    return tuple(reasons)
