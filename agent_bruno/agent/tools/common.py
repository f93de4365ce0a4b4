"""What the edge tools share: the catalog's names, time ranges and name checks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent_bruno.agent.catalog import snapshot
from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.nlu.timeexpr import parse_time_arg
from agent_bruno.agent.nlu.vocabulary import Kind, Vocabulary
from agent_bruno.agent.tools.base import ToolResult


class Args(BaseModel):
    """Tool arguments: unknown fields are refused so a confused model is caught."""

    model_config = ConfigDict(extra="forbid")


class Filters(Args):
    """Which series: exact names as listed by `inventory`; all omitted means every series."""

    metric: str | None = Field(
        default=None, description="metric name, e.g. temperature, humidity, co2, cpu_percent"
    )
    location: str | None = Field(default=None, description="location name, e.g. warehouse")
    node: str | None = Field(default=None, description="node name, e.g. pi-node-1")
    sensor: str | None = Field(default=None, description="sensor name, e.g. dht22-1")


class Range(BaseModel):
    """A time range: ISO 8601 times or phrases like "last hour", "yesterday", "since 9am"."""

    start: str | None = Field(
        default=None, description='start, e.g. "last hour" or 2026-11-26T09:00Z'
    )
    end: str | None = Field(default=None, description="end (default now)")


async def vocabulary(ctx: AgentContext) -> Vocabulary:
    """The names stored now (read once per turn)."""
    return (await snapshot(ctx.storage, ctx.catalog)).vocabulary


def time_range(
    ctx: AgentContext, start: str | None, end: str | None, default_s: float
) -> tuple[float, float] | ToolResult:
    """[start, end) in Unix seconds, or an error result naming the bad value."""
    now = ctx.clock()
    try:
        t_end = now if end is None else parse_time_arg(end, now, ctx.tz, role="end")
        t_start = (
            t_end - default_s if start is None else parse_time_arg(start, now, ctx.tz, role="start")
        )
    except ValueError as exc:
        return ToolResult.fail(str(exc))
    if t_start >= t_end:
        return ToolResult.fail(f"the range is empty: start {start!r} is not before end {end!r}")
    return t_start, t_end


def resolve_names(
    vocab: Vocabulary, names: dict[Kind, str | None]
) -> dict[Kind, str | None] | ToolResult:
    """Stored spellings of the given names, or `no_data` saying which one is unknown and what
    exists (with a close match when there is one)."""
    resolved: dict[Kind, str | None] = {}
    for kind, name in names.items():
        if name is None or not name.strip():
            resolved[kind] = None
            continue
        found = vocab.canonical(kind, name)
        if found is None:
            return unknown_name(vocab, kind, name)
        resolved[kind] = found
    return resolved


def unknown_name(vocab: Vocabulary, kind: Kind, name: str) -> ToolResult:
    """`no_data` for a name that does not exist, listing what does."""
    known = list(vocab.known(kind))
    suggestion = vocab.suggest(kind, name)
    hint = f"; did you mean {suggestion!r}?" if suggestion else ""
    return ToolResult.no_data(
        f"there is no {kind} called {name!r}; known {kind}s: {', '.join(known) or 'none'}{hint}",
        {"unknown": {"kind": kind, "name": name}, "known": known, "suggestion": suggestion},
    )


Severity = Literal["warning", "critical"]
