"""A Kubernetes API server on loopback for the SDK's `EdgeDeploy`: DaemonSets by server-side
apply (PATCH with `application/apply-patch+yaml`) and GET, bearer-token checked, every request
recorded. Scripted failures answer like the real server (a `Status` object)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PREFIX = "/apis/apps/v1/namespaces/"


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    body: Any


@dataclass
class FakeKube:
    """The server's state: stored DaemonSets, requests, and what to refuse."""

    token: str
    url: str = ""
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    refuse: tuple[int, str] | None = None  # (status, reason) for every write

    def kubeconfig(self, context: str) -> str:
        """A kubeconfig whose context `context` points here with the token."""
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": f"{context}-admin", "user": {"token": self.token}}],
            "contexts": [{"name": context,
                          "context": {"cluster": context, "user": f"{context}-admin"}}],
        })  # fmt: skip


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "reason": reason, "message": message}  # fmt: skip


def _handler(kube: FakeKube) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _route(self) -> tuple[str, str] | None:
            parts = urlsplit(self.path).path.removeprefix(PREFIX).split("/")
            if not self.path.startswith(PREFIX) or len(parts) != 3 or parts[1] != "daemonsets":
                return None
            return parts[0], parts[2]

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            body = json.loads(raw) if raw else None
            kube.requests.append(Recorded(self.command, split.path, parse_qs(split.query),
                                          self.headers.get("Content-Type", ""), body))  # fmt: skip
            if self.headers.get("Authorization") != f"Bearer {kube.token}":
                self._send(401, _status(401, "Unauthorized", "Unauthorized"))
                return
            key = self._route()
            if key is None:
                self._send(404, _status(404, "NotFound", f"the server could not find {split.path}"))
                return
            if self.command == "GET":
                if key not in kube.objects:
                    self._send(
                        404, _status(404, "NotFound", f'daemonsets.apps "{key[1]}" not found')
                    )
                    return
                self._send(200, kube.objects[key])
                return
            if kube.refuse is not None:
                code, reason = kube.refuse
                self._send(code, _status(code, reason, f"daemonsets.apps is {reason.lower()}"))
                return
            if self.headers.get("Content-Type") != "application/apply-patch+yaml":
                self._send(415, _status(415, "UnsupportedMediaType", "apply patches only here"))
                return
            old = kube.objects.get(key)
            stored = json.loads(json.dumps(body))
            meta = stored.setdefault("metadata", {})
            generation = (old["metadata"]["generation"] + 1) if old else 1
            meta.update({"uid": "0b1c2d3e-0000-4000-8000-000000000001",
                         "resourceVersion": str(1000 + len(kube.requests)),
                         "generation": generation,
                         "creationTimestamp": "2025-11-26T12:00:00Z"})  # fmt: skip
            dry = "All" in parse_qs(split.query).get("dryRun", [])
            if not dry:
                kube.objects[key] = stored
            self._send(200 if old else 201, stored)

        do_GET = _handle
        do_PATCH = _handle

    return Handler


@contextmanager
def fake_kube(token: str = "kube-token-5d1f") -> Iterator[FakeKube]:  # noqa: S107
    """A FakeKube listening on 127.0.0.1 until the block ends."""
    kube = FakeKube(token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(kube))
    kube.url = f"http://127.0.0.1:{server.server_address[1]}"
    # Polled every 50 ms: shutdown waits for one poll, 0.5 s by default.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="fake-kube", daemon=True
    )
    thread.start()
    try:
        yield kube
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
