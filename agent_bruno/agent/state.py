"""`AgentState`: what the graph checkpoints per thread, all of it plain JSON-ready data."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

Mode = Literal["builtin", "model"]


class AgentState(TypedDict, total=False):
    """One thread's state.

    `messages` and `focus` carry across turns (the model path's conversation and the built-in
    path's memory of what was being discussed); every other field is reset by `start` at the
    beginning of a turn. Values are plain dicts and lists (no dataclasses) so any checkpointer
    can store them.
    """

    messages: Annotated[list[AnyMessage], add_messages]
    question: str
    focus: dict[str, Any]
    plan: dict[str, Any] | None  # the built-in `Plan`, as `dataclasses.asdict` makes it
    calls: list[dict[str, Any]]  # this turn's `ToolCallRecord.as_dict()`s
    answer: str
    mode: Mode
    fallback: str | None  # why the model path was abandoned this turn
    pending: list[dict[str, Any]]  # tool calls waiting to run: {"id", "name", "args"}
    turn_start: int  # len(messages) before this turn: what to drop if the model path fails
    rounds: int  # tool rounds the model has made this turn
    model_s: float  # seconds this turn has spent waiting on the model
