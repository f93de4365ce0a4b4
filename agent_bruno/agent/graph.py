"""The agent graph: one StateGraph with a model path and the built-in path it falls back to.

    start ─┬─ model configured ──▶ agent ─┬─ tool calls ──▶ tools ──▶ agent …
           │                              ├─ final text ──────────────────────▶ finish
           │                              └─ any failure (fallback) ─┐
           └─ no model ─────────────────────────────────────────▶ understand ──▶ tools
                                                                                   │
                                                   finish ◀── compose ◀────────────┘

Nodes talk to the consumer through LangGraph's custom stream (`events.custom` payloads) and
read their dependencies from `runtime.context` (an `AgentContext`); none reads the environment.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any, Literal, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.utils import message_chunk_to_message
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from pydantic import ValidationError

from agent_bruno.agent.catalog import snapshot
from agent_bruno.agent.compose import compose
from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.events import custom, wants, writer_for
from agent_bruno.agent.model import model_failure, shorten
from agent_bruno.agent.nlu.plan import Plan, PlannedCall, plan_dict
from agent_bruno.agent.nlu.understand import understand
from agent_bruno.agent.state import AgentState
from agent_bruno.agent.tools.base import ToolCallRecord, ToolResult
from agent_bruno.agent.tools.registry import find_tool, for_model, tool_schemas
from agent_bruno.storage.base import CatalogRow
from agent_bruno.textsafe import fence, json_for_model, one_line

HISTORY_TURNS = 6  # earlier questions the model sees, each with its tool calls and answer
KEPT_TURNS = 20  # exchanges a thread's checkpoint keeps; older ones are dropped
TOKEN_CHUNK_WORDS = 4

AgentGraph = CompiledStateGraph[AgentState, AgentContext, AgentState, AgentState]


class ModelPathFailed(Exception):
    """The model path cannot produce an answer this turn; the message is the short reason."""


def build_graph(
    model: BaseChatModel | None,
    *,
    model_timeout_s: float,
    max_model_rounds: int = 4,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
) -> AgentGraph:
    """Compile the agent graph; without `model` every turn takes the built-in path.

    `model_timeout_s` bounds the time one turn spends waiting on the model, over all its
    rounds; `max_model_rounds` bounds how many rounds of tool calls the model may make.
    """
    if model_timeout_s <= 0:
        raise ValueError(f"model_timeout_s must be positive, got {model_timeout_s!r}")
    if max_model_rounds < 1:
        raise ValueError(f"max_model_rounds must be at least 1, got {max_model_rounds!r}")
    if model is None:
        # Without a model the graph holds nothing of its caller's: compiled once per process
        # (2.5 ms, twice per service start), each caller given a copy with its checkpointer.
        return _builtin_graph(model_timeout_s, max_model_rounds).copy(
            {"checkpointer": checkpointer}
        )
    return _compile(model, model_timeout_s, max_model_rounds, checkpointer)


@functools.lru_cache(maxsize=8)
def _builtin_graph(model_timeout_s: float, max_model_rounds: int) -> AgentGraph:
    """The graph without a model and without a checkpointer, shared read-only."""
    return _compile(None, model_timeout_s, max_model_rounds, None)


def _compile(
    model: BaseChatModel | None,
    model_timeout_s: float,
    max_model_rounds: int,
    checkpointer: BaseCheckpointSaver[Any] | None,
) -> AgentGraph:
    """Build and compile the graph (`build_graph` without its checks)."""
    bound = model.bind_tools(tool_schemas()) if model is not None else None

    async def start(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        mode = "model" if bound is not None else "builtin"
        write = writer_for(runtime.stream_writer, runtime.context.events)
        write(custom("status", stage="start", mode=mode, message="looking into it"))
        messages = state.get("messages", [])
        unfinished = _unfinished(messages)
        update: dict[str, Any] = {
            "calls": [],
            "pending": [],
            "answer": "",
            "fallback": None,
            "plan": None,
            "mode": mode,
            "rounds": 0,
            "model_s": 0.0,
            "turn_start": len(messages) - len(unfinished),
            "messages": unfinished,
        }
        if mode == "model":
            update["messages"] = [*unfinished, HumanMessage(state["question"])]
        return update

    async def agent(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        assert bound is not None
        ctx = runtime.context
        spent = state.get("model_s", 0.0)
        began = time.monotonic()
        try:
            system = await _system_message(ctx)
            history = _recent(state["messages"], state.get("turn_start", 0))
            message = await _stream_model(
                bound, [SystemMessage(system), *history], model_timeout_s, spent, runtime
            )
            pending = _checked_calls(message, state.get("rounds", 0), max_model_rounds)
            if not pending and not message.text.strip():
                raise ModelPathFailed("model gave an empty answer")
        except ModelPathFailed as exc:
            return _fall_back(state, runtime, str(exc))
        except Exception as exc:  # any model failure means the built-in path
            return _fall_back(state, runtime, model_failure(exc, model_timeout_s))
        if pending and message.text.strip():
            writer_for(runtime.stream_writer, ctx.events)(
                custom("status", stage="tools", reset=True, message="looking up the data")
            )
        update: dict[str, Any] = {
            "messages": [message],
            "pending": pending,
            "model_s": spent + time.monotonic() - began,
        }
        if not pending:
            update["answer"] = message.text.strip()
        return update

    async def tools(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        on_model_path = state.get("mode") == "model"
        records, replies = await _run_calls(runtime, state.get("pending", []), fenced=on_model_path)
        calls = [*state.get("calls", []), *(r.as_dict() for r in records)]
        update: dict[str, Any] = {"calls": calls, "pending": []}
        if on_model_path:
            update["messages"] = replies
            update["rounds"] = state.get("rounds", 0) + 1
        return update

    def finish(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        answer = state.get("answer", "")
        mode = state.get("mode", "builtin")
        fallback = state.get("fallback")
        writer_for(runtime.stream_writer, runtime.context.events)(
            custom("answer", answer=answer, mode=mode, fallback=fallback)
        )
        messages = state.get("messages", [])
        if mode == "model":
            return {"messages": _older_than(messages, KEPT_TURNS)}
        # A later turn on the model path sees this exchange as history.
        exchange = [HumanMessage(state["question"]), AIMessage(answer)]
        return {"messages": [*_older_than(messages, KEPT_TURNS - 1), *exchange]}

    async def finish_node(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        return finish(state, runtime)

    async def builtin(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
        """The built-in path in one step: understand, run the planned tools, compose, finish.
        (As separate graph steps they cost more in the graph's bookkeeping than in their own
        work: each step copies the state and builds a checkpoint.) Without a model this is
        the graph's only step, so it starts the turn too. The plan and the tool results stay
        objects until the step returns its update."""
        current: dict[str, Any] = dict(state)
        began: dict[str, Any] = {}
        removed: list[Any] = []
        if bound is None:  # no `start` step ran: the turn begins here
            began = await start(state, runtime)
            removed = began.pop("messages")
            current.update(began)
            if removed:
                current["messages"] = add_messages(current.get("messages", []), removed)
        ctx = runtime.context
        write = writer_for(runtime.stream_writer, ctx.events)
        catalog = await snapshot(ctx.storage, ctx.catalog)
        # Without a model the desks' check read the question moments ago: the understanding
        # reads it at that time and takes what was read. (After a model failed, afresh.)
        reading = ctx.catalog.reading if ctx.catalog is not None and bound is None else None
        plan = understand(
            current["question"],
            current.get("focus") or None,
            catalog.vocabulary,
            reading.now if reading is not None else ctx.clock(),
            ctx.tz,
            forge=ctx.forge is not None,
            reading=reading,
        )
        write(custom("status", stage="understood", intent=plan.intent, message="understood"))
        pending = [
            {"id": f"builtin-{i}", "name": c.name, "args": dict(c.args)}
            for i, c in enumerate(plan.calls)
        ]
        records, _ = await _run_calls(runtime, pending, fenced=False)
        answer = compose(plan, records, ctx.clock(), ctx.tz)
        for chunk in _chunks(answer) if wants(ctx.events, "token") else ():
            write(custom("token", text=chunk))
        current["answer"] = answer
        ended = finish(cast("AgentState", current), runtime)
        update: dict[str, Any] = dict(began)
        update.update(
            plan=plan_dict(plan),
            pending=[],
            focus=dict(plan.focus),
            calls=[*current.get("calls", []), *(r.as_dict() for r in records)],
            answer=answer,
            messages=[*removed, *ended["messages"]],
        )
        return update

    def after_start(state: AgentState) -> Literal["agent", "builtin"]:
        return "agent" if state.get("mode") == "model" else "builtin"

    def after_agent(state: AgentState) -> Literal["builtin", "tools", "finish"]:
        if state.get("mode") != "model":
            return "builtin"
        return "tools" if state.get("pending") else "finish"

    builder = StateGraph(AgentState, context_schema=AgentContext)
    builder.add_node("builtin", builtin)
    if bound is None:  # every turn is built-in: one step, which starts the turn itself
        builder.add_edge(START, "builtin")
        builder.add_edge("builtin", END)
        return builder.compile(checkpointer=checkpointer, name="agent-bruno")
    builder.add_node("start", start)
    builder.add_node("agent", agent)
    builder.add_node("tools", tools)
    builder.add_node("finish", finish_node)
    builder.add_edge(START, "start")
    builder.add_conditional_edges("start", after_start)
    builder.add_conditional_edges("agent", after_agent)
    builder.add_edge("builtin", END)
    builder.add_edge("tools", "agent")  # the model path's tool rounds
    builder.add_edge("finish", END)
    return builder.compile(checkpointer=checkpointer, name="agent-bruno")


async def _stream_model(
    bound: Any,
    messages: list[BaseMessage],
    timeout_s: float,
    spent_s: float,
    runtime: Runtime[AgentContext],
) -> AIMessage:
    """Stream one model round, emitting its text as `token` events; bounded by the turn budget."""
    budget = timeout_s - spent_s
    if budget <= 0:
        raise ModelPathFailed(f"model timed out after {timeout_s:g} s")
    merged: AIMessageChunk | None = None
    write = writer_for(runtime.stream_writer, runtime.context.events)
    async with asyncio.timeout(budget):
        async for chunk in bound.astream(messages):
            if not isinstance(chunk, AIMessageChunk):
                continue
            if chunk.text:
                write(custom("token", text=chunk.text))
            merged = chunk if merged is None else merged + chunk
    if merged is None:
        raise ModelPathFailed("model sent no reply")
    message = message_chunk_to_message(merged)
    assert isinstance(message, AIMessage)
    return message


async def _run_calls(
    runtime: Runtime[AgentContext], pending: Sequence[dict[str, Any]], *, fenced: bool
) -> tuple[list[ToolCallRecord], list[ToolMessage]]:
    """Run the pending calls in order, telling the consumer of each call and its result; the
    records and, when `fenced` (the model path), the tool messages for the model."""
    ctx = runtime.context
    write = writer_for(runtime.stream_writer, ctx.events)
    shown = wants(ctx.events, "tool_result")
    records: list[ToolCallRecord] = []
    replies: list[ToolMessage] = []
    for call in pending:
        name, args, call_id = call["name"], call["args"], call["id"]
        write(custom("tool_call", id=call_id, name=name, args=args))
        tool = find_tool(name)
        result = (
            await tool.call(ctx, args)
            if tool is not None
            else ToolResult.fail(f"unknown tool {name!r}")
        )
        # What the stream shows and the model reads; nothing when neither does (`POST /query`).
        summary = for_model(result, ctx.max_items_for_model) if shown or fenced else None
        if shown:
            write(custom("tool_result", id=call_id, name=name, status=result.status,
                         error=result.error, size=result.size, data=summary))  # fmt: skip
        records.append(ToolCallRecord(name, args, result))
        if fenced:  # tool results quote data: fenced, never read as instructions
            content = fence(name, json_for_model(summary))
            replies.append(ToolMessage(content, tool_call_id=call_id, name=name))
    return records, replies


def _checked_calls(message: AIMessage, rounds: int, max_rounds: int) -> list[dict[str, Any]]:
    """The model's tool calls as pending calls, or `ModelPathFailed` saying what is wrong."""
    if message.invalid_tool_calls:
        bad = message.invalid_tool_calls[0]
        raise ModelPathFailed(
            shorten(f"model sent a malformed tool call {bad.get('name')!r}: {bad.get('error')}")
        )
    pending: list[dict[str, Any]] = []
    for call in message.tool_calls:
        name = call["name"]
        tool = find_tool(name)
        if tool is None:
            raise ModelPathFailed(shorten(f"model called unknown tool {name!r}"))
        try:
            tool.args.model_validate(call["args"])
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ModelPathFailed(
                shorten(f"model gave bad arguments to {name}: {problems}")
            ) from None
        pending.append(
            {"id": call["id"] or f"call-{len(pending)}", "name": name, "args": call["args"]}
        )
    if pending and rounds >= max_rounds:
        raise ModelPathFailed(f"model wanted more than {max_rounds} rounds of tool calls")
    return pending


def _fall_back(state: AgentState, runtime: Runtime[AgentContext], reason: str) -> dict[str, Any]:
    """Abandon the model path: drop this turn's messages, tell the consumer, go built-in."""
    writer_for(runtime.stream_writer, runtime.context.events)(
        custom(
            "status",
            stage="fallback",
            reason=reason,
            reset=True,
            message=f"{reason}; answering with the built-in understanding instead",
        )
    )
    turn = state.get("messages", [])[state.get("turn_start", 0) :]
    return {
        "mode": "builtin",
        "fallback": reason,
        "pending": [],
        "calls": [],
        "answer": "",
        "messages": [RemoveMessage(id=m.id) for m in turn if m.id is not None],
    }


def _recent(messages: Sequence[AnyMessage], turn_start: int) -> list[AnyMessage]:
    """The last `HISTORY_TURNS` earlier exchanges plus this turn; cut only before a question."""
    starts = [i for i, m in enumerate(messages[:turn_start]) if isinstance(m, HumanMessage)]
    first = (
        starts[-HISTORY_TURNS]
        if len(starts) >= HISTORY_TURNS
        else (starts[0] if starts else turn_start)
    )
    return list(messages[first:])


def _unfinished(messages: Sequence[AnyMessage]) -> list[RemoveMessage]:
    """Removals of what an interrupted turn left after the last answer (say, a client left)."""
    last = max(
        (i for i, m in enumerate(messages) if isinstance(m, AIMessage) and not m.tool_calls),
        default=-1,
    )
    return [RemoveMessage(id=m.id) for m in messages[last + 1 :] if m.id is not None]


def _older_than(messages: Sequence[AnyMessage], turns: int) -> list[RemoveMessage]:
    """Removals of every message before the last `turns` questions."""
    starts = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    if len(starts) <= turns:
        return []
    cut = starts[-turns] if turns > 0 else len(messages)
    return [RemoveMessage(id=m.id) for m in messages[:cut] if m.id is not None]


async def _system_message(ctx: AgentContext) -> str:
    rows = (await snapshot(ctx.storage, ctx.catalog)).rows
    now = datetime.fromtimestamp(ctx.clock(), ctx.tz)
    inventory = await asyncio.to_thread(inventory_summary, rows, ctx.tz)
    return ctx.prompts.system_message(
        now=now.strftime("%Y-%m-%d %H:%M"),
        timezone=_tz_name(ctx.tz, now),
        inventory=fence("inventory", inventory),
    )


def inventory_summary(rows: Sequence[CatalogRow], tz: tzinfo) -> str:
    """One line per location and node: its metrics with units and sensors, and how recent."""
    if not rows:
        return "- nothing stored yet"
    groups: dict[tuple[str, str], list[CatalogRow]] = {}
    for row in rows:
        groups.setdefault((one_line(row.location), one_line(row.node)), []).append(row)
    lines = []
    for (location, node), series in sorted(groups.items()):
        metrics = ", ".join(
            sorted({one_line(f"{r.metric} ({r.unit}, {r.sensor})") for r in series})
        )
        last = datetime.fromtimestamp(max(r.last_ts for r in series), tz)
        lines.append(
            f"- {location} / {node}: {metrics}; latest data {last.strftime('%Y-%m-%d %H:%M')}"
        )
    return "\n".join(lines)


def _tz_name(tz: tzinfo, now: datetime) -> str:
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) else (tz.tzname(now) or "UTC")


def _plan_from_dict(data: dict[str, Any]) -> Plan:
    """A `Plan` from its `plan_dict` form (a checkpoint's or a recording's)."""
    return Plan(
        intent=str(data.get("intent", "")),
        calls=tuple(PlannedCall(c["name"], dict(c["args"])) for c in data.get("calls", ())),
        focus=dict(data.get("focus") or {}),
        hints=dict(data.get("hints") or {}),
    )


def _record_from_dict(data: dict[str, Any]) -> ToolCallRecord:
    """A `ToolCallRecord` from its `as_dict()` form."""
    result = data["result"]
    return ToolCallRecord(
        data["name"],
        data["args"],
        ToolResult(result["status"], result["data"], result["error"], result["size"]),
    )


def _chunks(text: str) -> list[str]:
    """The answer in a few pieces of `TOKEN_CHUNK_WORDS` words, whitespace kept."""
    words = text.split(" ")
    pieces = [
        " ".join(words[i : i + TOKEN_CHUNK_WORDS]) for i in range(0, len(words), TOKEN_CHUNK_WORDS)
    ]
    return [p + (" " if i < len(pieces) - 1 else "") for i, p in enumerate(pieces)]
