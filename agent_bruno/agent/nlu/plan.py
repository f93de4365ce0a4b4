"""What built-in understanding makes of a question: the tool calls to make and how to answer."""

from __future__ import annotations

from dataclasses import dataclass, field
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
