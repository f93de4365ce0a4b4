"""A scripted fake of an Ollama server: real HTTP on loopback, real wire format.

It speaks the native API (``/api/chat`` NDJSON streaming or one JSON object, ``/api/tags``,
``/api/show``, ``/api/version``) and the OpenAI-compatible ``/v1/chat/completions`` (one JSON
object, or SSE ``data:`` chunks ending with ``data: [DONE]``). Each chat request, on either API,
consumes the next `Reply` of the script; once the script is exhausted it answers HTTP 500.

Shapes follow Ollama's docs/api.md and the ollama client's pydantic models
(``ollama._types.ChatResponse``, ``ListResponse``, ``ShowResponse``).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, NamedTuple, Self

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.servers.loopback import PromptServer

OLLAMA_VERSION = "0.12.6"
CHAT_PATHS = ("/api/chat", "/v1/chat/completions")
_WORD = re.compile(r"^\s+|\S+\s*")


@dataclass
class ToolCallSpec:
    """One tool call the fake model makes; `arguments` may be any JSON value (to send bad ones)."""

    name: str
    arguments: Any = field(default_factory=dict)


@dataclass
class Reply:
    """One scripted model turn, consumed by the next chat request."""

    content: str = ""
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    delay_s: float = 0.0  # sleep before the first byte (to provoke client timeouts)
    status: int = 200  # non-200 → an error body carrying `content`
    raw_tool_calls: Any = None  # if set, sent verbatim as message.tool_calls
    chunk_words: bool = True  # stream the content word by word (else in one chunk)
    raw_body: str | None = None  # if set, sent verbatim (with `status`) instead of any JSON


class Received(NamedTuple):
    """One request the fake received: path, decoded JSON body (None if not JSON), headers."""

    path: str
    body: Any
    headers: dict[str, str]


def _now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _count_prompt_words(body: Any) -> int:
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return 0
    return sum(len(str(m.get("content", "")).split()) for m in messages if isinstance(m, dict))


class FakeOllama:
    """Serve a script of `Reply` objects over Ollama's HTTP APIs on 127.0.0.1.

    Use as ``with FakeOllama([...]) as fake:`` or ``async with``; ``fake.url`` is the base URL.
    """

    def __init__(
        self,
        script: Iterable[Reply] = (),
        *,
        model: str = "qwen2.5:3b",
        token: str | None = None,
    ) -> None:
        self.script: list[Reply] = list(script)
        self.model = model
        self.token = token
        self.requests: list[Received] = []
        self.url = ""
        self._closing = threading.Event()
        self._server: PromptServer | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    # --- what tests assert on -------------------------------------------------------------

    @property
    def chat_requests(self) -> list[Any]:
        """Return the JSON bodies of the chat requests (both APIs), in arrival order."""
        return [r.body for r in self.requests if r.path in CHAT_PATHS]

    @property
    def tools_received(self) -> list[Any]:
        """Return the `tools` list of each chat request (None where it sent none)."""
        return [b.get("tools") if isinstance(b, dict) else None for b in self.chat_requests]

    @property
    def replies_left(self) -> int:
        """Return how many scripted replies have not been consumed yet."""
        return len(self.script)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start serving on a free loopback port; return once it accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            self._app(),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=2,
        )
        self._server = PromptServer(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="FakeOllama", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.ready.wait(0.05):  # the thread may have died instead
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("FakeOllama did not start (see the captured uvicorn log)")

    def stop(self) -> None:
        """Stop the server, ending any delayed reply early, and wait for its thread."""
        self._closing.set()
        if self._server is not None and self._thread is not None:
            self._server.stop()
            self._thread.join(timeout=5)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # --- HTTP -----------------------------------------------------------------------------

    def _app(self) -> ASGIApp:
        app = Starlette(
            routes=[
                Route("/api/chat", self._ollama_chat, methods=["POST"]),
                Route("/v1/chat/completions", self._openai_chat, methods=["POST"]),
                Route("/api/tags", self._tags, methods=["GET"]),
                Route("/api/show", self._show, methods=["POST"]),
                Route("/api/version", self._version, methods=["GET"]),
                Route("/", self._root, methods=["GET", "HEAD"]),
            ]
        )
        return _close_connections(app)

    async def _receive(self, request: Request) -> tuple[Any, Response | None]:
        """Record the request; return its body and, if it must be refused, the refusal."""
        raw = await request.body()
        try:
            body: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        self.requests.append(Received(request.url.path, body, dict(request.headers)))
        if (
            self.token is not None
            and request.headers.get("authorization") != f"Bearer {self.token}"
        ):
            return body, JSONResponse({"error": "unauthorized"}, status_code=401)
        if raw and body is None:
            return body, JSONResponse({"error": "invalid JSON request body"}, status_code=400)
        return body, None

    def _model_error(self, body: Any) -> str | None:
        name = body.get("model") if isinstance(body, dict) else None
        if not name:
            return "model is required"
        if name not in (self.model, f"{self.model}:latest") and f"{name}:latest" != self.model:
            return f'model "{name}" not found, try pulling it first'
        return None

    async def _take_reply(self) -> Reply | None:
        reply = self.script.pop(0) if self.script else None
        if reply is not None and reply.delay_s > 0:
            # A thread waits so that stop() (from another thread) ends the delay at once.
            await asyncio.to_thread(self._closing.wait, reply.delay_s)
        return reply

    async def _ollama_chat(self, request: Request) -> Response:
        body, refusal = await self._receive(request)
        if refusal is not None:
            return refusal
        if (err := self._model_error(body)) is not None:
            return JSONResponse({"error": err}, status_code=400 if "required" in err else 404)
        reply = await self._take_reply()
        if reply is None:
            return JSONResponse({"error": "FakeOllama: script exhausted"}, status_code=500)
        if reply.raw_body is not None:
            return Response(reply.raw_body, reply.status, media_type="application/json")
        if reply.status != 200:
            error = reply.content or f"fake error {reply.status}"
            return JSONResponse({"error": error}, status_code=reply.status)
        model = str(body["model"])
        stats = _ollama_stats(body, reply)
        if body.get("stream", True) is False:
            message = {"role": "assistant", "content": reply.content}
            if (calls := _ollama_tool_calls(reply)) is not None:
                message["tool_calls"] = calls
            return JSONResponse(_ollama_chunk(model, message, done=True) | stats)
        return StreamingResponse(
            _ollama_stream(model, reply, stats), media_type="application/x-ndjson"
        )

    async def _openai_chat(self, request: Request) -> Response:
        body, refusal = await self._receive(request)
        if refusal is not None:
            return _openai_error(401, "unauthorized")
        if (err := self._model_error(body)) is not None:
            return _openai_error(400 if "required" in err else 404, err)
        reply = await self._take_reply()
        if reply is None:
            return _openai_error(500, "FakeOllama: script exhausted")
        if reply.raw_body is not None:
            return Response(reply.raw_body, reply.status, media_type="application/json")
        if reply.status != 200:
            return _openai_error(reply.status, reply.content or f"fake error {reply.status}")
        model = str(body["model"])
        if body.get("stream") is True:
            return StreamingResponse(_openai_stream(model, reply), media_type="text/event-stream")
        return JSONResponse(_openai_completion(model, body, reply))

    async def _tags(self, request: Request) -> Response:
        _, refusal = await self._receive(request)
        if refusal is not None:
            return refusal
        entry = {
            "name": self.model,
            "model": self.model,
            "modified_at": "2025-01-01T00:00:00Z",
            "size": 1_929_912_432,
            "digest": "357c53fb659c5076de1d65ccb0b397446227b71a42be9d1603d46168015c9e4b",
            "details": _MODEL_DETAILS,
        }
        return JSONResponse({"models": [entry]})

    async def _show(self, request: Request) -> Response:
        body, refusal = await self._receive(request)
        if refusal is not None:
            return refusal
        if (err := self._model_error(body)) is not None:
            return JSONResponse({"error": err}, status_code=400 if "required" in err else 404)
        return JSONResponse(
            {
                "modelfile": f"FROM {self.model}\n",
                "parameters": "stop                           <|im_end|>",
                "template": "{{ .Prompt }}",
                "details": _MODEL_DETAILS,
                "model_info": {"general.architecture": "qwen2", "qwen2.context_length": 32768},
                "capabilities": ["completion", "tools"],
                "modified_at": "2025-01-01T00:00:00Z",
            }
        )

    async def _version(self, request: Request) -> Response:
        _, refusal = await self._receive(request)
        return refusal or JSONResponse({"version": OLLAMA_VERSION})

    async def _root(self, request: Request) -> Response:
        return Response("Ollama is running", media_type="text/plain")


def _close_connections(app: ASGIApp) -> ASGIApp:
    """Answer with ``Connection: close``.

    Clients such as ChatOllama never close their httpx pool; a kept-alive socket would then be
    garbage-collected unclosed and fail the test run with a ResourceWarning.
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await app(scope, receive, send_closing)

    return wrapped


_MODEL_DETAILS = {
    "parent_model": "",
    "format": "gguf",
    "family": "qwen2",
    "families": ["qwen2"],
    "parameter_size": "3.1B",
    "quantization_level": "Q4_K_M",
}


# --- native API payloads -----------------------------------------------------------------


def _ollama_tool_calls(reply: Reply) -> Any:
    if reply.raw_tool_calls is not None:
        return reply.raw_tool_calls
    if not reply.tool_calls:
        return None
    return [
        {"function": {"index": i, "name": c.name, "arguments": c.arguments}}
        for i, c in enumerate(reply.tool_calls)
    ]


def _ollama_chunk(model: str, message: dict[str, Any], *, done: bool) -> dict[str, Any]:
    return {"model": model, "created_at": _now_rfc3339(), "message": message, "done": done}


def _ollama_stats(body: Any, reply: Reply) -> dict[str, Any]:
    eval_count = max(1, len(_words(reply.content)))
    return {
        "done_reason": "stop",
        "total_duration": 1_250_000_000,
        "load_duration": 50_000_000,
        "prompt_eval_count": max(1, _count_prompt_words(body)),
        "prompt_eval_duration": 200_000_000,
        "eval_count": eval_count,
        "eval_duration": 20_000_000 * eval_count,
    }


async def _ollama_stream(model: str, reply: Reply, stats: dict[str, Any]) -> AsyncIterator[bytes]:
    pieces = _words(reply.content) if reply.chunk_words else [reply.content]
    for piece in (p for p in pieces if p):
        chunk = _ollama_chunk(model, {"role": "assistant", "content": piece}, done=False)
        yield orjson.dumps(chunk) + b"\n"
    if (calls := _ollama_tool_calls(reply)) is not None:
        message = {"role": "assistant", "content": "", "tool_calls": calls}
        yield orjson.dumps(_ollama_chunk(model, message, done=False)) + b"\n"
    final = _ollama_chunk(model, {"role": "assistant", "content": ""}, done=True) | stats
    yield orjson.dumps(final) + b"\n"


# --- OpenAI-compatible payloads ----------------------------------------------------------


def _openai_error(status: int, message: str) -> Response:
    error = {"message": message, "type": "api_error", "param": None, "code": None}
    return JSONResponse({"error": error}, status_code=status)


def _openai_tool_calls(reply: Reply) -> Any:
    if reply.raw_tool_calls is not None:
        return reply.raw_tool_calls
    if not reply.tool_calls:
        return None
    return [
        {
            "id": f"call_{secrets.token_hex(4)}",
            "index": i,
            "type": "function",
            "function": {
                "name": c.name,
                # A string is passed through untouched so tests can send malformed JSON.
                "arguments": c.arguments
                if isinstance(c.arguments, str)
                else orjson.dumps(c.arguments).decode(),
            },
        }
        for i, c in enumerate(reply.tool_calls)
    ]


def _openai_envelope(model: str, obj: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{secrets.randbelow(1000)}",
        "object": obj,
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_ollama",
    }


def _openai_completion(model: str, body: Any, reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    calls = _openai_tool_calls(reply)
    if calls is not None:
        message["tool_calls"] = calls
    prompt_tokens = max(1, _count_prompt_words(body))
    completion_tokens = max(1, len(_words(reply.content)))
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": "tool_calls" if calls else "stop",
    }
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    return _openai_envelope(model, "chat.completion") | {"choices": [choice], "usage": usage}


async def _openai_stream(model: str, reply: Reply) -> AsyncIterator[bytes]:
    envelope = _openai_envelope(model, "chat.completion.chunk")

    def event(delta: dict[str, Any], finish_reason: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return b"data: " + orjson.dumps(envelope | {"choices": [choice]}) + b"\n\n"

    pieces = _words(reply.content) if reply.chunk_words else [reply.content]
    for piece in (p for p in pieces if p):
        yield event({"role": "assistant", "content": piece}, None)
    calls = _openai_tool_calls(reply)
    if calls is not None:
        yield event({"role": "assistant", "content": "", "tool_calls": calls}, None)
    yield event({"role": "assistant", "content": ""}, "tool_calls" if calls else "stop")
    yield b"data: [DONE]\n\n"
