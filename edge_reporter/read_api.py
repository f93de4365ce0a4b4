"""Read-only HTTP endpoint over the local raw store (stdlib server in a daemon thread).

GET /v1/readings?sensor=&metric=&start=&end=&limit=   raw readings, oldest first
GET /v1/series                                        what this node stores
GET /metrics                                          Prometheus text format
GET /healthz                                          liveness and what is degraded, no token

A bearer token (READ_API_TOKEN) is required except on /healthz; without one configured the
server binds loopback only (enforced by the configuration). Each request opens its own
read-only SQLite connection, so requests never share a connection across threads.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import re
import sqlite3
import threading
import time
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from edge_reporter.auth_policy import is_loopback
from edge_reporter.status import Status
from edge_reporter.store import StoreError, StoreReader

if TYPE_CHECKING:
    from edge_reporter.metrics import ReporterMetrics

log = logging.getLogger(__name__)

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
DEFAULT_SPAN_S = 3600.0
_NAME = re.compile(r"[\w.-]{1,128}")
_READINGS_PARAMS = frozenset({"sensor", "metric", "start", "end", "limit"})


class BadRequest(ValueError):
    """A request parameter is wrong; the message names it."""


def parse_readings_query(query: str, now: float) -> dict[str, Any]:
    """Validate `/v1/readings` parameters into keyword arguments for `StoreReader.readings`."""
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=False, max_num_fields=20)
    except ValueError as exc:
        raise BadRequest(f"query string: {exc}") from None
    for name, values in params.items():
        if name not in _READINGS_PARAMS:
            raise BadRequest(f"unknown parameter {name!r}; expected {sorted(_READINGS_PARAMS)}")
        if len(values) > 1:
            raise BadRequest(f"parameter {name!r} given {len(values)} times")
    one = {k: v[0] for k, v in params.items()}
    out: dict[str, Any] = {}
    for name in ("sensor", "metric"):
        if name in one:
            if not _NAME.fullmatch(one[name]):
                raise BadRequest(
                    f"{name}={one[name][:64]!r}: expected 1-128 letters, digits, . _ -"
                )
            out[name] = one[name]
    end = _float(one, "end", now)
    start = _float(one, "start", end - DEFAULT_SPAN_S)
    if start > end:
        raise BadRequest(f"start={start:g} is after end={end:g}")
    limit_text = one.get("limit", str(DEFAULT_LIMIT))
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise BadRequest(f"limit={limit_text[:32]!r}: expected a whole number in 1..{MAX_LIMIT}")
    return {**out, "start": start, "end": end, "limit": int(limit_text)}


def _float(params: Mapping[str, str], name: str, default: float) -> float:
    if name not in params:
        return default
    try:
        value = float(params[name])
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadRequest(f"{name}={params[name][:64]!r}: expected Unix seconds, e.g. 1764160000")
    return value


class ReadApi:
    """The server and its thread; `start()` binds, `stop()` shuts it down."""

    def __init__(
        self,
        store_path: Path,
        *,
        node: str,
        token: str | None,
        bind: str,
        port: int,
        poll_interval: float = 0.5,
        status: Status | None = None,
        metrics: ReporterMetrics | None = None,
    ) -> None:
        if token is None and not is_loopback(bind):  # the same rule as the configuration's
            raise ValueError(f"bind={bind!r} without a token: the read API binds loopback only")
        self._poll = poll_interval
        self._status = status or Status()
        self._metrics = metrics
        self._store_path = store_path
        self._node = node
        self._token = token
        self._bind = bind
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Bound host and port (the real port when 0 was asked)."""
        if self._server is None:
            raise RuntimeError("read API not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> tuple[str, int]:
        """Bind and serve in a daemon thread; return the bound address."""
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = ThreadingHTTPServer((self._bind, self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(self._poll,), name="read-api", daemon=True
        )
        self._thread.start()
        log.info("read API listening on %s:%d", *self.address)
        return self.address

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def authorized(self, header: str | None) -> bool:
        """Whether the Authorization header carries the configured token (or none is needed)."""
        if self._token is None:
            return True
        scheme, _, given = (header or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self._token.encode()
        )

    def metrics(self, auth: str | None) -> tuple[int, bytes | dict[str, Any]]:
        """Answer GET /metrics: the exposition, behind the token like the readings it holds."""
        if self._metrics is None:
            return 404, {"error": "metrics are not enabled on this reporter"}
        if not self.authorized(auth):
            return 401, {"error": "missing or wrong bearer token (READ_API_TOKEN)"}
        return 200, self._metrics.render()

    def handle(self, path: str, query: str, auth: str | None) -> tuple[int, dict[str, Any]]:
        """Answer one GET: (status, JSON body)."""
        if path == "/healthz":
            # 200 even when degraded: it is a liveness probe, and a restart would lose the
            # events held in memory while the disk refuses writes.
            return 200, {**self._status.snapshot(), "node": self._node}
        if path not in ("/v1/readings", "/v1/series"):
            return 404, {
                "error": f"no such path {path[:100]!r}; try /v1/readings, /v1/series or /metrics"
            }
        if not self.authorized(auth):
            return 401, {"error": "missing or wrong bearer token (READ_API_TOKEN)"}
        try:
            with StoreReader(self._store_path) as reader:
                if path == "/v1/series":
                    series = [
                        {
                            "sensor": s.sensor,
                            "metric": s.metric,
                            "unit": s.unit,
                            "count": s.count,
                            "first_ts": s.first_ts,
                            "last_ts": s.last_ts,
                        }
                        for s in reader.series()
                    ]
                    return 200, {"node": self._node, "series": series}
                args = parse_readings_query(query, time.time())
                # One row more than asked tells "exactly `limit` rows" from "truncated".
                rows = reader.readings(**{**args, "limit": args["limit"] + 1})
        except BadRequest as exc:
            return 400, {"error": str(exc)}
        except (StoreError, sqlite3.Error) as exc:
            log.warning("read API: local store unavailable: %s", exc)
            return 503, {"error": "local store not available yet"}
        readings = [
            {"ts": r.ts, "sensor": r.sensor, "metric": r.metric, "unit": r.unit, "value": r.value}
            for r in rows[: args["limit"]]
        ]
        return 200, {
            "node": self._node,
            "count": len(readings),
            "truncated": len(rows) > args["limit"],
            "readings": readings,
        }


class _Handler(BaseHTTPRequestHandler):
    """Dispatches to `ReadApi.handle`; never lets an exception reach the client socket."""

    api: ReadApi
    server_version = "edge-reporter"
    sys_version = ""

    def do_GET(self) -> None:
        """Serve one GET request."""
        body: bytes | dict[str, Any]
        try:
            parts = urlsplit(self.path)
            auth = self.headers.get("Authorization")
            if parts.path == "/metrics":
                status, body = self.api.metrics(auth)
            else:
                status, body = self.api.handle(parts.path, parts.query, auth)
        except Exception:
            log.exception("read API: error on %r", self.path[:200])
            status, body = 500, {"error": "internal error"}
        self._send(status, body)

    def _not_allowed(self) -> None:
        self._send(405, {"error": f"{self.command} not allowed; this API is read-only (GET)"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed

    def _send(self, status: int, body: bytes | dict[str, Any]) -> None:
        if isinstance(body, bytes):
            from edge_reporter.metrics import CONTENT_TYPE

            data, content_type = body, CONTENT_TYPE
        else:
            data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            content_type = "application/json"
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Route access logs to logging at debug level."""
        log.debug("read API %s - %s", self.address_string(), format % args)
