"""What a streamed run tells its consumer, one `AgentEvent` at a time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

EventKind = Literal["status", "tool_call", "tool_result", "token", "answer", "done", "error"]
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))


@dataclass(frozen=True, slots=True)
class AgentEvent:
    """One event of a run.

    Order: `status` (at once), then `tool_call`/`tool_result` pairs and `token`s, then one
    `answer`, then `done`. `token`s are provisional: a `status` event with `reset: true` (the
    model path failed and the built-in path takes over) says to discard the ones shown so far;
    `answer` carries the final text. An `error` event (the run failed) is followed by `done`.
    """

    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data."""
        return {"kind": self.kind, "data": self.data}


def custom(kind: EventKind, **data: Any) -> dict[str, Any]:
    """The payload a graph node hands to its stream writer for one event."""
    return {"kind": kind, "data": data}


Writer = Callable[[dict[str, Any]], None]


def writer_for(stream_writer: Writer, wanted: frozenset[str] | None) -> Writer:
    """`stream_writer`, passing on only the kinds in `wanted` (None: every kind). `POST /query`
    reads only the answer: the status, tool and token events a stream shows are not made."""
    if wanted is None:
        return stream_writer

    def write(payload: dict[str, Any]) -> None:
        if payload["kind"] in wanted:
            stream_writer(payload)

    return write


def wants(wanted: frozenset[str] | None, kind: EventKind) -> bool:
    """Whether a consumer that reads `wanted` (None: every kind) reads events of `kind`."""
    return wanted is None or kind in wanted
