"""`agent-bruno ask`: ask a running agent a question and print the answer as it streams in."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx

from agent_bruno.textsafe import for_terminal

DEFAULT_URL = "http://127.0.0.1:30120"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class AskFailed(Exception):
    """The question could not be answered; the message says why and what to do."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One Server-Sent Event: its name and its data (JSON-decoded when it is JSON)."""

    name: str
    data: Any


def parse_sse(lines: Iterable[str]) -> Iterator[SseEvent]:
    """Events from SSE lines (comments such as pings are skipped); minimal, per the spec."""
    name, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                text = "\n".join(data)
                try:
                    value: Any = json.loads(text)
                except ValueError:
                    value = text
                yield SseEvent(name, value)
            name, data = "message", []
            continue
        if line.startswith(":"):
            continue
        key, _, value_text = line.partition(":")
        value_text = value_text.removeprefix(" ")
        if key == "event":
            name = value_text
        elif key == "data":
            data.append(value_text)


@dataclass
class Printer:
    """Writes tokens as they come, the final answer if it differs, and tool calls on stderr."""

    out: TextIO
    err: TextIO
    verbose: bool = False
    quiet: bool = False  # --json: nothing but the final JSON on stdout
    shown: str = ""
    args_by_id: dict[str, Any] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    done: bool = False

    def _write(self, text: str) -> None:
        if not self.quiet:  # answers quote data: its control characters must not reach the tty
            self.out.write(for_terminal(text))
            self.out.flush()

    def _note(self, text: str) -> None:
        if self.verbose:
            print(for_terminal(text), file=self.err, flush=True)

    def handle(self, event: SseEvent) -> None:
        """Act on one event of the run."""
        data = event.data if isinstance(event.data, dict) else {}
        if event.name == "token":
            text = str(data.get("text", ""))
            self.shown += text
            self._write(text)
        elif event.name == "status":
            if data.get("reset") and self.shown:
                self._write("\n")
                print(
                    for_terminal(f"agent-bruno ask: {data.get('message', 'starting over')}"),
                    file=self.err,
                    flush=True,
                )
                self.shown = ""
            elif data.get("message"):
                self._note(f"… {data['message']}")
        elif event.name == "tool_call":
            self.args_by_id[str(data.get("id"))] = data.get("args", {})
            self._note(f"→ {data.get('name')}({json.dumps(data.get('args', {}))})")
        elif event.name == "tool_result":
            self.calls.append(
                {
                    "name": data.get("name"),
                    "args": self.args_by_id.get(str(data.get("id")), {}),
                    "status": data.get("status"),
                    "error": data.get("error"),
                    "data": data.get("data"),
                }
            )
            problem = f": {data['error']}" if data.get("error") else ""
            self._note(f"← {data.get('name')}: {data.get('status')}{problem}")
        elif event.name == "answer":
            self._finish_answer(str(data.get("answer", "")))
            self.reply.update(
                answer=data.get("answer", ""), mode=data.get("mode"), fallback=data.get("fallback")
            )
        elif event.name == "error":
            self.error = str(data.get("message", event.data))
        elif event.name == "done":
            self.done = True
            self.reply.update(thread_id=data.get("thread_id"), duration_s=data.get("duration_s"))

    def _finish_answer(self, answer: str) -> None:
        """Complete what the tokens showed; if they showed something else, print the answer."""
        if answer.startswith(self.shown):
            self._write(answer[len(self.shown) :])
        else:
            self._write(("\n" if self.shown else "") + answer)
        self.shown = answer
        if answer and not answer.endswith("\n"):
            self._write("\n")

    def result(self) -> dict[str, Any]:
        """The whole reply, shaped like `POST /query`'s JSON."""
        return {**self.reply, "calls": self.calls}


def _http_problem(response: httpx.Response, url: str) -> AskFailed:
    """The failure for a non-200 answer, with what to do."""
    try:
        message = str(response.json().get("detail", response.text))
    except (ValueError, AttributeError):
        message = response.text.strip()[:300]
    if response.status_code == 401:
        return AskFailed(
            f"the agent at {url} refused the request ({message}); "
            "pass --token or set AGENT_BRUNO_API_TOKEN"
        )
    if response.status_code in (400, 413, 422):
        return AskFailed(f"the agent refused the question: {message}", EXIT_USAGE)
    return AskFailed(f"the agent at {url} answered HTTP {response.status_code}: {message}")


def ask(
    url: str,
    question: str,
    *,
    token: str | None = None,
    thread_id: str | None = None,
    printer: Printer,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Stream the answer to `question` from the agent at `url` through `printer`."""
    base = url.rstrip("/")
    headers = {"Accept": "text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {"question": question}
    if thread_id:
        body["thread_id"] = thread_id
    # The server pings every AGENT_BRUNO_SSE_PING_S (15 s): a long read timeout is only a backstop.
    timeout = httpx.Timeout(10.0, read=300.0)
    try:
        with (
            httpx.Client(timeout=timeout, transport=transport) as client,
            client.stream("POST", f"{base}/chat", json=body, headers=headers) as response,
        ):
            if response.status_code != 200:
                response.read()
                raise _http_problem(response, base)
            for event in parse_sse(response.iter_lines()):
                printer.handle(event)
    except httpx.ConnectError as exc:
        raise AskFailed(
            f"cannot reach the agent at {base} ({exc}); start it with `agent-bruno serve` "
            "(or `make demo`), or pass --url"
        ) from None
    except httpx.HTTPError as exc:
        raise AskFailed(
            f"the connection to the agent at {base} failed ({type(exc).__name__}: {exc}); "
            "check the agent log and retry"
        ) from None
    if printer.error is not None:
        raise AskFailed(f"the agent failed: {printer.error}")
    if not printer.done:
        raise AskFailed(f"the agent at {base} closed the stream before the answer; retry")
    return printer.result()


def run(
    url: str,
    question: str,
    *,
    token: str | None,
    thread_id: str | None,
    as_json: bool,
    verbose: bool,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Ask, print, and return the exit code (0 answered, 1 failed, 2 refused as asked)."""
    out = out or sys.stdout
    err = err or sys.stderr
    if not question.strip():
        print("agent-bruno ask: the question is empty; e.g. agent-bruno ask 'any anomalies?'",
              file=err)  # fmt: skip
        return EXIT_USAGE
    printer = Printer(out, err, verbose=verbose, quiet=as_json)
    try:
        reply = ask(url, question, token=token, thread_id=thread_id, printer=printer)
    except AskFailed as exc:
        if printer.shown and not as_json:
            out.write("\n")
        print(f"agent-bruno ask: {exc}", file=err)
        return exc.code
    except KeyboardInterrupt:
        print("\nagent-bruno ask: interrupted", file=err)
        return 130
    if as_json:
        out.write(json.dumps(reply, ensure_ascii=False, indent=2) + "\n")
    elif verbose:
        print(
            f"(thread {reply.get('thread_id')}: follow up with --thread {reply.get('thread_id')})",
            file=err,
        )
    return EXIT_OK
