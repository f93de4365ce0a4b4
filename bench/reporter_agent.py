"""The edge reporter bench's stand-in agent (ASGI in-process, or HTTP on loopback for the real
process) and the transport that counts every byte on the wire and what the agent acknowledged."""

from __future__ import annotations

import gzip
import http.server
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from pathlib import Path
from typing import Any, ClassVar

import httpx

REPO = Path(__file__).resolve().parents[1]
NODE = "pi-bench"
TOKEN = "bench-edge-7c1e9a4f2b6d8e3a"
SENSORS = {  # ten series
    "dht22-1": "sim-dht22",
    "dht22-2": "sim-dht22",
    "dht22-3": "sim-dht22",
    "bmp280-1": "sim-pressure",
    "bmp280-2": "sim-pressure",
    "pir-1": "sim-motion",
    "mhz19-1": "sim-co2",
}

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


# --- stand-in agent -------------------------------------------------------------------------


def _ack(body: bytes, encoding: str | None, seen: set[str]) -> dict[str, Any]:
    """Decode a v1 envelope (or a single reading) and answer in the v1 response shape."""
    if encoding == "gzip":
        body = gzip.decompress(body)
    data = json.loads(body)
    events = data["events"] if isinstance(data, dict) and "events" in data else [data]
    ids = [str(e.get("id", "")) for e in events]
    fresh = [i for i in ids if not i or i not in seen]
    seen.update(ids)
    return {"accepted": len(fresh), "duplicates": len(ids) - len(fresh), "rejected": []}


def standin_asgi() -> ASGIApp:
    """A minimal ASGI receiver: gzip JSON in, v1 ingest response out."""
    seen: set[str] = set()

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        out = json.dumps(_ack(body, headers.get("content-encoding"), seen)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(out)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": out})

    return app


class _StandinHandler(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[set[str]] = set()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        out = json.dumps(_ack(body, self.headers.get("Content-Encoding"), self.seen)).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:
        return None


# --- byte counting --------------------------------------------------------------------------


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts every HTTP/1.1 byte both ways and records what the agent acknowledged."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.bytes = 0
        self.requests = 0
        self.delivered: dict[str, dict[str, Any]] = {}
        self.acked_at: dict[str, float] = {}
        self.rejected: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward one request, counting its bytes and its answer's."""
        body = request.read()
        head = f"{request.method} {request.url.raw_path.decode()} HTTP/1.1\r\n"
        self.bytes += (
            len(head) + sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + 2 + len(body)
        )
        response = await self.inner.handle_async_request(request)
        content = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
        await response.aclose()
        reason = HTTPStatus(response.status_code).phrase
        self.bytes += len(f"HTTP/1.1 {response.status_code} {reason}\r\n")
        self.bytes += sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 2 + len(content)
        self.requests += 1
        if response.status_code == 200 and request.url.path == "/v1/events":
            self._record(body, request.headers.get("content-encoding"), content)
        return httpx.Response(response.status_code, headers=response.headers, content=content)

    def _record(self, body: bytes, encoding: str | None, answer: bytes) -> None:
        now = time.perf_counter()
        events = json.loads(gzip.decompress(body) if encoding == "gzip" else body)["events"]
        rejected = {
            int(r["index"]): str(r.get("error", ""))
            for r in json.loads(answer).get("rejected", [])
            if r.get("index") is not None
        }
        for index, event in enumerate(events):
            if index in rejected:
                # "events.3: value 110 % is outside …" -> what was refused, and why
                why = rejected[index].split(": ", 1)[-1]
                self.rejected.append(f"{event['type']} {event.get('metric', '')}: {why}")
                continue
            self.delivered.setdefault(event["id"], event)
            self.acked_at.setdefault(event["id"], now)
