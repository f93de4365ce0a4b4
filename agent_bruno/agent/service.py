"""`AgentService`: runs the agent graph for a question and streams what happens as events."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

import aiosqlite
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from agent_bruno.agent.catalog import CatalogCache, TurnCatalog, snapshot
from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.desks import Desk
from agent_bruno.agent.events import EVENT_KINDS, AgentEvent
from agent_bruno.agent.graph import AgentGraph, build_graph
from agent_bruno.agent.memory import ThreadMemory, strict_serde
from agent_bruno.agent.nlu.reading import TurnReading
from agent_bruno.agent.nlu.understand import intent_of
from agent_bruno.agent.state import AgentState

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
ANSWER_ONLY = frozenset({"answer"})  # what `ask` reads of a graph run's events
THREAD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class QuestionError(ValueError):
    """The question (or thread id) cannot be asked; the message says what was wrong."""


class AgentError(RuntimeError):
    """A run failed before it could answer; the message says why."""


@dataclass(frozen=True, slots=True)
class AgentReply:
    """The outcome of one question: the answer, the tool calls behind it, and how it was made."""

    answer: str
    calls: list[dict[str, Any]]  # `ToolCallRecord.as_dict()`s
    mode: str
    fallback: str | None
    thread_id: str
    duration_s: float
    plan: dict[str, Any] | None = field(default=None)
    memory: str | None = None  # why thread memory was not used or kept this turn; None: it was

    def as_dict(self) -> dict[str, Any]:
        """The reply as JSON-ready data."""
        return {
            "answer": self.answer,
            "calls": self.calls,
            "mode": self.mode,
            "fallback": self.fallback,
            "thread_id": self.thread_id,
            "duration_s": self.duration_s,
            "memory": self.memory,
        }


def checked_question(question: str, thread_id: str | None = None) -> tuple[str, str]:
    """The stripped question and the thread id (a new one if None), or `QuestionError`."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError(
            "the question is empty: ask about the sensors, e.g. "
            "'what is the temperature in the warehouse?'"
        )
    text = question.strip()
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(
            f"the question is {len(text)} characters long; "
            f"the limit is {MAX_QUESTION_CHARS}: shorten it"
        )
    if thread_id is None:
        return text, uuid.uuid4().hex
    if not THREAD_ID.fullmatch(thread_id):
        raise QuestionError(
            f"thread id {thread_id[:140]!r} is not valid: use 1 to 128 letters, digits or ._:-"
        )
    return text, thread_id


@asynccontextmanager
async def open_sqlite_checkpointer(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    """Open (creating if needed) the thread memory at `path`; closed when the block ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(str(path)) as conn:
        saver = AsyncSqliteSaver(conn, serde=strict_serde())
        await saver.setup()
        yield saver


class AgentService:
    """Answer questions in threads; one instance per process, built in the lifespan."""

    def __init__(
        self,
        context: AgentContext,
        graph: AgentGraph,
        checkpointer: BaseCheckpointSaver[Any],
        memory: ThreadMemory | None = None,
        one_shot_graph: AgentGraph | None = None,
        max_concurrent_runs: int = 4,
    ) -> None:
        self.context = context
        # Runs beyond this wait their turn (their stream says so): the agent's work shares the
        # event loop with ingest, which must not starve behind a crowd of questions.
        self._slots = asyncio.Semaphore(max(1, max_concurrent_runs))
        self.graph = graph
        self.checkpointer = checkpointer
        self.memory = memory
        self.one_shot_graph = one_shot_graph or graph
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._closed = False
        self.desks: list[Desk] = []  # answer their own sentences (alert subscriptions)
        self._refers: OrderedDict[str, str] = OrderedDict()  # thread → what "it" is, per desk
        self._catalogs = CatalogCache()  # the catalog between turns, until the data changes

    @classmethod
    async def create(
        cls,
        context: AgentContext,
        *,
        model: BaseChatModel | None = None,
        model_timeout_s: float = 30.0,
        max_model_rounds: int = 4,
        checkpointer: BaseCheckpointSaver[Any] | None = None,
        memory: ThreadMemory | None = None,
        max_concurrent_runs: int = 4,
    ) -> AgentService:
        """Build the service; thread memory is in-process unless `memory` (threads.db, with
        compact one-shot entries) or a `checkpointer` is given."""
        saver = memory.saver if memory is not None else checkpointer
        if saver is None:
            saver = InMemorySaver(serde=strict_serde())
        options: dict[str, Any] = {
            "model_timeout_s": model_timeout_s,
            "max_model_rounds": max_model_rounds,
        }
        graph = build_graph(model, checkpointer=saver, **options)
        one_shot = build_graph(model, checkpointer=None, **options) if memory else None
        return cls(context, graph, saver, memory, one_shot, max_concurrent_runs)

    def stream(
        self, question: str, thread_id: str | None = None, owner: str | None = None
    ) -> AsyncGenerator[AgentEvent]:
        """Run the question, yielding events; `QuestionError` is raised here, before any run.

        The events never end in an exception: a failure is an `error` event, then `done`.
        Closing the generator (or cancelling its consumer) cancels the run.
        """
        if self._closed:
            raise AgentError("the agent service is closed")
        text, thread = checked_question(question, thread_id)
        return self._run(text, thread, {}, owner, given=thread_id is not None)

    async def ask(
        self, question: str, thread_id: str | None = None, owner: str | None = None
    ) -> AgentReply:
        """Run the question to its answer; `AgentError` if the run failed."""
        if self._closed:
            raise AgentError("the agent service is closed")
        text, thread = checked_question(question, thread_id)
        final: dict[str, Any] = {}
        answer: dict[str, Any] | None = None
        done: dict[str, Any] = {}
        error: str | None = None
        # Only the answer is read here: the graph makes no status, tool or token events.
        run = self._run(text, thread, final, owner, given=thread_id is not None, kinds=ANSWER_ONLY)
        async with aclosing(run) as events:
            async for event in events:
                if event.kind == "answer":
                    answer = event.data
                elif event.kind == "error":
                    error = str(event.data.get("message"))
                elif event.kind == "done":
                    done = event.data
        if error is not None or answer is None:
            raise AgentError(error or "the agent finished without an answer")
        return AgentReply(
            answer=str(answer["answer"]),
            calls=list(final.get("calls", [])),
            mode=str(answer["mode"]),
            fallback=answer.get("fallback"),
            thread_id=thread,
            duration_s=float(done.get("duration_s", 0.0)),
            plan=final.get("plan"),
            memory=done.get("memory"),
        )

    async def close(self) -> None:
        """Refuse new questions; the checkpointer stays with whoever passed it in."""
        self._closed = True

    async def _desk(
        self, question: str, owner: str | None, thread_id: str, turn: TurnCatalog
    ) -> tuple[Desk, str | None] | None:
        """The desk whose sentence this is, if the caller is known: the one that answers the
        question's intent (with it), or the one whose exchange this thread continues."""
        if owner is None or not self.desks:
            return None
        ctx = self.context
        vocab = (await snapshot(ctx.storage, turn)).vocabulary
        turn.reading = TurnReading(vocab, ctx.clock())
        intent = intent_of(question, vocab, turn.reading.now, ctx.tz, turn.reading)
        for desk in self.desks:
            if intent in desk.intents:
                return desk, intent
        for desk in self.desks:
            refers = self._refers.get(f"{desk.name}:{thread_id}")
            if refers is not None and desk.continues(owner, question, refers):
                return desk, None
        return None

    async def _run_desk(
        self,
        desk: Desk,
        intent: str | None,
        owner: str,
        question: str,
        thread_id: str,
        final: dict[str, Any],
    ) -> AsyncGenerator[AgentEvent]:
        """Relay a desk's reply as a run: one tool call, its result, the answer."""
        args = {"text": question}
        yield AgentEvent("tool_call", {"name": desk.name, "args": args})
        key = f"{desk.name}:{thread_id}"
        reply = await desk.handle(owner, question, self._refers.get(key), intent)
        if reply.refers_to is not None:
            self._refers[key] = reply.refers_to
            self._refers.move_to_end(key)
            while len(self._refers) > 10_000:
                self._refers.popitem(last=False)
        status = "ok" if reply.ok else "no_data"
        result = {"status": status, "data": reply.data, "error": None}
        yield AgentEvent("tool_result", {"name": desk.name, "result": result})
        final["calls"] = [{"name": desk.name, "args": args, "result": result}]
        yield AgentEvent("answer", {"answer": reply.text, "mode": "builtin", "fallback": None})

    async def _run(
        self,
        question: str,
        thread_id: str,
        final: dict[str, Any],
        owner: str | None = None,
        *,
        given: bool = True,
        kinds: frozenset[str] | None = None,
    ) -> AsyncGenerator[AgentEvent]:
        began = time.monotonic()
        yield AgentEvent(
            "status", {"stage": "received", "thread_id": thread_id, "message": "question received"}
        )
        turn = TurnCatalog(self._catalogs)  # the catalog as this turn reads it, once
        chosen = await self._desk(question, owner, thread_id, turn)
        if chosen is not None and owner is not None:
            desk, intent = chosen
            try:
                run = self._run_desk(desk, intent, owner, question, thread_id, final)
                async for event in run:
                    yield event
            except Exception as exc:
                log.exception("the %s desk failed (thread %s)", desk.name, thread_id)
                yield AgentEvent(
                    "error", {"message": f"the agent failed: {type(exc).__name__}: {exc}"}
                )
            yield AgentEvent(
                "done",
                {
                    "thread_id": thread_id,
                    "duration_s": round(time.monotonic() - began, 3),
                    "mode": "builtin",
                    "fallback": None,
                },
            )
            return
        answered: dict[str, Any] = {}
        memory = self.memory
        note = memory.unavailable if memory is not None else None
        generation = self._follow(memory)
        inputs: AgentState = {"question": question}
        if memory is not None and given and memory.conn is not None:
            try:
                seed = await memory.take_one_shot(thread_id, time.time())
            except sqlite3.Error as exc:  # a damaged file is replaced: this turn uses the new
                seed, note = None, await self._memory_failed(exc, generation)
                generation = memory.generation
            if seed:
                inputs["focus"] = seed.get("focus") or {}
                inputs["messages"] = [HumanMessage(seed["question"]), AIMessage(seed["answer"])]
        # A one-shot question is not checkpointed: a compact entry is kept after the run.
        graph = self.one_shot_graph if memory is not None and not given else self.graph
        lock = self._locks.get(thread_id)
        if lock is None:
            lock = self._locks[thread_id] = asyncio.Lock()
        if self._slots.locked():
            yield AgentEvent(
                "status", {"stage": "queued", "message": "waiting for the questions ahead"}
            )
        # The retention pass leaves the thread alone until its turn is recorded (`touch`).
        busy = memory.turn(thread_id) if memory is not None else nullcontext()
        try:
            async with busy, lock, self._slots:
                # aclosing: a consumer that stops early closes the run, not the GC later.
                try:
                    run = self._stream(graph, inputs, thread_id, final, answered, turn, kinds)
                    async with aclosing(run) as events:
                        async for event in events:
                            yield event
                except sqlite3.Error as exc:  # thread memory failed (disk full, damaged file)
                    note = await self._memory_failed(exc, generation)
                    if not answered:  # it failed before answering: answer without memory
                        run = self._stream(
                            self.one_shot_graph, inputs, thread_id, final, answered, turn, kinds
                        )
                        async with aclosing(run) as events:
                            async for event in events:
                                yield event
                    memory = None  # nothing more to keep this turn
                if memory is not None and memory.conn is not None and answered:
                    try:
                        if given:
                            await memory.touch(thread_id, time.time())
                        else:
                            await memory.save_one_shot(thread_id, final, time.time())
                    except sqlite3.Error as exc:
                        note = await self._memory_failed(exc, generation)
        except Exception as exc:  # the consumer gets an event, never a raise
            log.exception("agent run failed (thread %s)", thread_id)
            yield AgentEvent("error", {"message": f"the agent failed: {type(exc).__name__}: {exc}"})
        yield AgentEvent(
            "done",
            {
                "thread_id": thread_id,
                "duration_s": round(time.monotonic() - began, 3),
                "mode": answered.get("mode"),
                "fallback": answered.get("fallback"),
                "memory": note,
            },
        )

    def _follow(self, memory: ThreadMemory | None) -> int:
        """Use the thread memory's current saver (a damaged file may have been replaced since
        the last turn); the generation of the file this turn uses."""
        if memory is None:
            return 0
        if memory.saver is not self.checkpointer:
            self.checkpointer = memory.saver
            self.graph = self.graph.copy(update={"checkpointer": memory.saver})
        return memory.generation

    async def _memory_failed(self, exc: sqlite3.Error, generation: int) -> str:
        """Count and log a thread-memory failure (a damaged file is moved aside and replaced
        now, not at the next start); the note answers carry."""
        memory = self.memory
        if memory is not None:
            memory.stats.failures += 1
            aside = await memory.recover(exc, generation)
            if aside is not None:
                self._follow(memory)
                return (
                    f"thread memory was damaged ({exc}) and was moved aside to {aside.name}; "
                    "this answer comes from the data without the conversation, and earlier "
                    "conversations cannot be continued"
                )
        log.error("thread memory failed: %s; answering from the data without it", exc)
        return (
            f"thread memory is unavailable ({exc}): this answer comes from the data without "
            "the conversation, and a follow-up will not remember it"
        )

    async def _stream(
        self,
        graph: AgentGraph,
        inputs: AgentState,
        thread_id: str,
        final: dict[str, Any],
        answered: dict[str, Any],
        turn: TurnCatalog,
        kinds: frozenset[str] | None = None,
    ) -> AsyncGenerator[AgentEvent]:
        """One run of `graph`: its events (the graph's of the `kinds` given, None: all); the
        final state into `final`, the answer's mode and fallback into `answered`."""
        config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
        # One checkpoint per turn, written when the run ends: the turn is the unit a follow-up
        # needs, and per-step writes tripled /query's latency. (None without a checkpointer.)
        durability: Literal["exit"] | None = "exit" if graph.checkpointer else None
        chunks = cast(
            "AsyncGenerator[tuple[str, Any], None]",
            graph.astream(
                inputs,
                config,
                # The turn's catalog cache: every step of this turn reads the catalog once.
                context=replace(
                    self.context,
                    asked_by=f"chat thread {thread_id}",
                    catalog=turn,
                    events=kinds,
                ),
                stream_mode=["custom", "values"],
                durability=durability,
            ),
        )
        async with aclosing(chunks):
            async for stream_mode, payload in chunks:
                if stream_mode == "values":
                    final.clear()
                    final.update(payload)
                    continue
                event = _event(payload)
                if event.kind == "answer":
                    answered["mode"] = event.data.get("mode")
                    answered["fallback"] = event.data.get("fallback")
                yield event


def _event(payload: Any) -> AgentEvent:
    """The `AgentEvent` for a node's custom stream payload."""
    if isinstance(payload, dict) and payload.get("kind") in EVENT_KINDS:
        return AgentEvent(payload["kind"], dict(payload.get("data") or {}))
    raise AgentError(f"a graph node wrote an unknown stream payload: {payload!r:.200}")
