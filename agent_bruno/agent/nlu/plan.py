"""What built-in understanding makes of a question: the tool calls to make and how to answer."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields, is_dataclass
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


def plain(value: Any) -> Any:
    """`value` copied as `dataclasses.asdict` copies a field's value (containers rebuilt, a
    dataclass as a dict, anything else deep-copied), without its generic per-item checks."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        return {plain(k): plain(v) for k, v in value.items()}
    if kind is list:
        return [plain(v) for v in value]
    if kind is tuple:
        return tuple(plain(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return copy.deepcopy(value)


def plan_dict(plan: Plan) -> dict[str, Any]:
    """The plan as plain data, equal to `dataclasses.asdict(plan)` (what a checkpoint stores)."""
    return {
        "intent": plan.intent,
        "calls": tuple({"name": c.name, "args": plain(c.args)} for c in plan.calls),
        "focus": plain(plan.focus),
        "hints": plain(plan.hints),
    }


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in fields(kind))
    return names


def row_dict(row: Any) -> dict[str, Any]:
    """A dataclass instance as `dataclasses.asdict` makes it (each field's value by `plain`)."""
    return {name: plain(getattr(row, name)) for name in _field_names(type(row))}
