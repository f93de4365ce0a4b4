"""`/chat`: a question answered as a stream of Server-Sent Events, as the agent works.

Events are named after the agent's (`status`, `tool_call`, `tool_result`, `token`, `answer`,
`error`, `done`) and carry JSON data. When the client goes away, sse-starlette cancels the
response's task; the cancellation reaches the agent's run through the generators below, and
`aclosing` closes the run when the cancellation lands while an event is being sent. When the
server shuts down (SIGTERM), sse-starlette sets `shutdown`: the run is closed and the stream
ends with an `error` event saying so and `done`, within SHUTDOWN_GRACE_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Query
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask
from starlette.requests import Request

from agent_bruno.agent.events import AgentEvent
from agent_bruno.agent.service import QuestionError
from agent_bruno.api.deps import Principal, Services, ServicesDep
from agent_bruno.api.limits import StreamTicket, client_key, limits_of
from agent_bruno.api.openapi import documented
from agent_bruno.api.query import (
    QUESTION_BODY,
    Question,
    bad_question,
    check_question,
    read_question,
)
from agent_bruno.metrics import Metrics

router = APIRouter(tags=["agent"])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
SHUTDOWN_GRACE_S = 2.0  # well inside the 30 s a pod has between SIGTERM and SIGKILL
SHUTTING_DOWN = "the agent is shutting down; ask again in a moment"


def encode(event: AgentEvent) -> ServerSentEvent:
    """An agent event as a named SSE event with JSON data (one line)."""
    data = orjson.dumps(event.data, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    return ServerSentEvent(data=data, event=event.kind)


async def _until_shutdown(
    events: AsyncGenerator[AgentEvent], shutdown: anyio.Event | None, thread_id: str
) -> AsyncIterator[AgentEvent]:
    """The run's events; when `shutdown` is set first, the run is closed and the stream ends
    with `error` and `done` (a client always learns why its answer stopped)."""
    if shutdown is None:
        async for event in events:
            yield event
        return
    stop = asyncio.ensure_future(shutdown.wait())
    step: asyncio.Future[AgentEvent] | None = None
    try:
        while True:
            step = asyncio.ensure_future(anext(events))
            await asyncio.wait({step, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not step.done():
                yield AgentEvent("error", {"message": SHUTTING_DOWN, "reason": "shutdown"})
                yield AgentEvent("done", {"thread_id": thread_id, "shutdown": True})
                return
            try:
                event = step.result()
            except StopAsyncIteration:
                return
            step = None
            yield event
    finally:
        # Shut down, or the client left: the run must stop before `events` is closed.
        stop.cancel()
        if step is not None and not step.done():
            step.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await step


async def relay(
    events: AsyncGenerator[AgentEvent],
    metrics: Metrics,
    shutdown: anyio.Event | None = None,
    thread_id: str = "",
    ticket: StreamTicket | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """The run's events as SSE events; closing or cancelling this closes the run (and gives
    the stream's place under the cap back)."""
    try:
        async with aclosing(events):
            async for event in _until_shutdown(events, shutdown, thread_id):
                if event.kind == "answer":
                    metrics.count_answer(event.data.get("mode"), event.data.get("fallback"))
                elif event.kind == "error":
                    metrics.count_answer(None, None, failed=True)
                yield encode(event)
    finally:
        if ticket is not None:
            ticket.close()


def stream_answer(
    services: Services, question: Question, owner: str | None = None, client: str = ""
) -> EventSourceResponse:
    """Start the run and answer with its event stream (400 if the agent refuses the question,
    429 over the client's rate or the cap on open streams)."""
    thread_id = question.thread_id or uuid.uuid4().hex
    limits = limits_of(services)
    limits.take(client or f"{owner}@?")
    try:
        events = services.agent.stream(question.text, thread_id, owner)
    except QuestionError as exc:
        raise bad_question(str(exc)) from None
    limits.open_stream()
    ticket = StreamTicket(limits)
    headers: dict[str, Any] = {**SSE_HEADERS, "X-Thread-Id": thread_id}
    shutdown = anyio.Event()
    return EventSourceResponse(
        relay(events, services.metrics, shutdown, thread_id, ticket),
        headers=headers,
        background=BackgroundTask(ticket.close),  # if the stream never started
        ping=services.settings.sse_ping_s,
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_S,
    )


SSE_EVENTS = ["status", "tool_call", "tool_result", "token", "answer", "error", "done"]
SSE_MEDIA = {
    "text/event-stream": {
        # One schema per event (as OpenAPI 3.2's itemSchema): its name and its JSON data.
        "schema": {
            "type": "object",
            "properties": {
                "event": {"type": "string", "enum": SSE_EVENTS},
                "data": {"type": "string", "description": "a JSON object"},
            },
            "required": ["event", "data"],
        },
        "example": 'event: status\ndata: {"stage": "start", "mode": "builtin"}\n\n'
        'event: token\ndata: {"text": "warehouse is "}\n\nevent: done\ndata: {}\n\n',
    }
}
CHAT_ANSWERS = documented(
    400,
    413,
    415,
    (429, "Too many questions from this client, or too many open streams; see Retry-After"),
    media=SSE_MEDIA,
    description="Server-Sent Events: status, tool_call, tool_result, token, answer, error, done "
    "(JSON data each); the X-Thread-Id header names the conversation",
)


@router.post("/chat", openapi_extra={"requestBody": QUESTION_BODY}, responses=CHAT_ANSWERS)
async def post_chat(
    request: Request, services: ServicesDep, owner: Principal
) -> EventSourceResponse:
    """Ask a question (JSON `{question, thread_id}` or plain text); the answer streams as SSE."""
    question = await read_question(request, services.settings.query_max_chars)
    return stream_answer(services, question, owner, client_key(owner, request))


@router.get("/chat", responses=CHAT_ANSWERS)
async def get_chat(
    request: Request,
    services: ServicesDep,
    owner: Principal,
    q: Annotated[str | None, Query(description="the question (missing or blank: 400)")] = None,
    thread_id: Annotated[
        str | None,
        Query(min_length=1, max_length=128, description="X-Thread-Id of an earlier answer"),
    ] = None,
) -> EventSourceResponse:
    """Ask `?q=` (for `curl -N` and `EventSource`); the answer streams as SSE."""
    question = check_question(q or "", thread_id, services.settings.query_max_chars)
    return stream_answer(services, question, owner, client_key(owner, request))
