"""What built-in understanding makes of a question: the tool calls to make and how to answer."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One tool call the built-in path will make."""

    name: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Plan:
    """The intent, the calls, the thread memory after this turn, and hints for the answer.

    `focus` is JSON-ready: it is checkpointed with the thread so follow-ups ("and the
    humidity?") reuse what the previous question was about.
    """

    intent: str
    calls: tuple[PlannedCall, ...]
    focus: dict[str, Any] = field(default_factory=dict)
    hints: dict[str, Any] = field(default_factory=dict)


_ATOMS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """`value` copied as `dataclasses.asdict` copies a field's value (containers rebuilt, a
    dataclass as a dict, anything else deep-copied), without its generic per-item checks."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        return {_plain(k): _plain(v) for k, v in value.items()}
    if kind is list:
        return [_plain(v) for v in value]
    if kind is tuple:
        return tuple(_plain(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return copy.deepcopy(value)


def plan_dict(plan: Plan) -> dict[str, Any]:
    """The plan as plain data, equal to `dataclasses.asdict(plan)` (what a checkpoint stores)."""
    return {
        "intent": plan.intent,
        "calls": tuple({"name": c.name, "args": _plain(c.args)} for c in plan.calls),
        "focus": _plain(plan.focus),
        "hints": _plain(plan.hints),
    }
