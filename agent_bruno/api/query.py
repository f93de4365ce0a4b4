"""`POST /query`: one question in, one answer out (plain text for curl, JSON on request)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from agent_bruno.agent.service import QuestionError
from agent_bruno.api.body import media_type, read_body
from agent_bruno.api.deps import Principal, Services, ServicesDep, principal_of
from agent_bruno.api.errors import ApiError, json_response
from agent_bruno.api.limits import client_key, limits_of
from agent_bruno.api.openapi import documented
from agent_bruno.api.schemas import Question as QuestionModel
from agent_bruno.textsafe import for_terminal

router = APIRouter(tags=["agent"])
log = logging.getLogger(__name__)

_THREAD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Percent-encoded form text never holds a literal space; raw `curl -d "..."` text usually does.
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}|\+")
_HEADER_UNSAFE = re.compile(r"[^\x20-\x7e]")


@dataclass(frozen=True, slots=True)
class Question:
    """A question as a request carried it, with the conversation it continues (if any)."""

    text: str
    thread_id: str | None


def bad_question(message: str, **detail: Any) -> ApiError:
    """A 400 naming what is wrong with the question."""
    return ApiError(400, message, reason="bad_question", **detail)


def _from_form(raw: str) -> tuple[str, str | None]:
    """`question=...&thread_id=...`, or the whole body as the question (what `curl -d` sends)."""
    if raw.startswith("question="):
        fields = parse_qs(raw, keep_blank_values=True)
        thread = fields.get("thread_id", [None])[-1]
        return fields["question"][-1], thread or None
    if " " not in raw and _ENCODED.search(raw):
        return unquote_plus(raw), None
    return raw, None


def _from_json(body: bytes) -> tuple[str, str | None]:
    """`{"question": "...", "thread_id": "..."}`."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_question(f"the body is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("question"), str):
        raise bad_question('a JSON body must be an object {"question": "...", "thread_id": "..."}')
    thread = data.get("thread_id")
    if thread is not None and not isinstance(thread, str):
        raise bad_question(f"thread_id must be a string, got {thread!r}")
    return data["question"], thread or None


def check_question(text: str, thread_id: str | None, max_chars: int) -> Question:
    """The question stripped and bounded, and a well-formed thread id (400 otherwise)."""
    question = text.strip()
    if not question:
        raise bad_question(
            "the question is empty: send it as the body, e.g. curl URL/query -d \"What's the "
            'temperature in the warehouse?"'
        )
    if len(question) > max_chars:
        raise bad_question(
            f"the question is {len(question)} characters long; the limit is {max_chars} "
            "(AGENT_BRUNO_QUERY_MAX_CHARS): ask something shorter",
            limit=max_chars,
        )
    if thread_id is not None and not _THREAD_ID.match(thread_id):
        raise bad_question(
            f"thread_id {thread_id[:140]!r} is not valid: use the X-Thread-Id of an earlier "
            "answer (letters, digits, '.', '_', ':', '-'; at most 128)"
        )
    return Question(question, thread_id)


async def read_question(request: Request, max_chars: int) -> Question:
    """The question in a request body: plain text, a form (or curl's raw `-d` text), or JSON.

    `?thread_id=` applies when the body names none.
    """
    body = await read_body(request, max_chars * 12 + 1024)  # room for %-encoded UTF-8
    kind = media_type(request)
    if kind == "application/json":
        text, thread = _from_json(body)
    else:
        try:
            raw = body.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_question("the body is not UTF-8 text; send the question as UTF-8") from None
        text, thread = (
            _from_form(raw) if kind == "application/x-www-form-urlencoded" else (raw, None)
        )
    return check_question(text, thread or request.query_params.get("thread_id") or None, max_chars)


def call_view(call: Any) -> dict[str, Any]:
    """A tool call as `{name, args, status, error, data}`."""
    raw = call.as_dict() if hasattr(call, "as_dict") else dict(call)
    result = raw.get("result") or {}
    return {
        "name": raw.get("name"),
        "args": raw.get("args", {}),
        "status": result.get("status", raw.get("status")),
        "error": result.get("error", raw.get("error")),
        "data": result.get("data", raw.get("data")),
    }


def reply_view(reply: Any) -> dict[str, Any]:
    """The JSON body of an answer."""
    return {
        "answer": reply.answer,
        "thread_id": reply.thread_id,
        "mode": reply.mode,
        "fallback": reply.fallback,
        "duration_s": round(float(reply.duration_s), 3),
        "memory": getattr(reply, "memory", None),
        "calls": [call_view(c) for c in reply.calls],
    }


def header_value(value: object) -> str:
    """A value that is safe in an HTTP header (ASCII, one line, bounded)."""
    return _HEADER_UNSAFE.sub("?", str(value))[:200]


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON (`Accept: application/json`)."""
    return "application/json" in request.headers.get("accept", "").lower()


QUESTION_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "text/plain": {
            "schema": {"type": "string", "minLength": 1},
            "example": "What's the temperature in the warehouse?",
        },
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "properties": {
                    "question": {"type": "string", "minLength": 1},
                    "thread_id": {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{1,128}$"},
                },
                "required": ["question"],
            }
        },
        "application/json": {"schema": QuestionModel.model_json_schema()},
    },
}
THREAD_HEADER = {
    "X-Thread-Id": {
        "description": "the conversation; send it back as thread_id to ask a follow-up",
        "schema": {"type": "string"},
    }
}


@router.post(
    "/query",
    openapi_extra={"requestBody": QUESTION_BODY},
    responses={
        **documented(
            400,
            413,
            415,
            (429, "Too many questions from this client; retry after Retry-After seconds"),
            (500, "The agent failed while answering (a bug; the log has the details)"),
            media={
                "text/plain": {
                    "schema": {"type": "string"},
                    "example": "warehouse is 21.4 °C (pi-node-1, dht22-1, 40 s ago).\n",
                },
                "application/json": {"schema": {"$ref": "#/components/schemas/Answer"}},
            },
            description="The answer: plain text, or JSON with `Accept: application/json`",
        ),
    },
)
async def post_query(request: Request, services: ServicesDep, owner: Principal) -> Response:
    """Answer a question about the sensors and nodes; `thread_id` continues a conversation.

    The body is the question as plain text (what `curl -d` sends), a form, or JSON."""
    return await answer(request, services, owner)


async def post_query_direct(request: Request) -> Response:
    """`post_query` as `agent-bruno serve`'s front door calls it (ahead of FastAPI's middleware
    and dependency solving, a tenth of a built-in answer's CPU): the services and the caller
    are read here, in the same order and with the same problems."""
    services: Services = request.app.state.services
    owner = principal_of(request.headers.get("authorization"), services)
    return await answer(request, services, owner)


async def answer(request: Request, services: Services, owner: str) -> Response:
    """The answer to the question in `request`, asked by `owner`."""
    question = await read_question(request, services.settings.query_max_chars)
    limits_of(services).take(client_key(owner, request))
    try:
        reply = await services.agent.ask(question.text, question.thread_id, owner)
    except QuestionError as exc:
        raise bad_question(str(exc)) from None
    except Exception as exc:
        services.metrics.count_answer(None, None, failed=True)
        log.exception("the agent failed answering %r", question.text[:200])
        raise ApiError(
            500,
            f"the agent failed while answering ({type(exc).__name__}: {exc}); "
            "the agent log has the details",
            reason="agent_failed",
        ) from None
    services.metrics.count_answer(reply.mode, reply.fallback)
    headers = {
        "Vary": "Accept",
        "X-Thread-Id": header_value(reply.thread_id),
        "X-Agent-Mode": header_value(reply.mode),
    }
    if reply.fallback:
        headers["X-Agent-Fallback"] = header_value(reply.fallback)
    text = reply.answer.rstrip("\n") + "\n"
    if reply.memory:
        headers["X-Agent-Memory"] = header_value(reply.memory)
        text += f"(Note: {reply.memory}.)\n"
    if wants_json(request):
        return json_response(reply_view(reply), headers=headers)
    # Data's control characters, escaped: the answer quotes names and reasons.
    return Response(for_terminal(text), media_type="text/plain; charset=utf-8", headers=headers)
