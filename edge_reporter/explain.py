"""Optional explanations of flagged readings by a small model behind Ollama's HTTP API.

Never on the hot path: `submit` only enqueues (dropping when the queue is full or the hourly
budget is spent); one task calls Ollama with a timeout and hands each explanation to `deliver`,
which writes it to the outbox as its own `explanation` event (`ref` = the reading's id).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from typing import Any

import httpx

log = logging.getLogger(__name__)

# The shipped copy of prompts/edge_explanation.md (see edge_reporter/assets).
PROMPT_PATH: Traversable = files("edge_reporter.assets").joinpath("prompts", "edge_explanation.md")
MAX_TEXT = 8000


class ExplainError(RuntimeError):
    """Ollama could not produce an explanation."""


def load_prompt(path: Path | None = None) -> Template:
    """Load the prompt template (default: the shipped prompts/edge_explanation.md)."""
    target: Traversable = path or PROMPT_PATH
    try:
        return Template(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ExplainError(f"cannot read the prompt template {target}: {exc}") from exc


class Explainer:
    """Queue of flagged readings to explain, rate-limited, served by one task."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        url: str,
        model: str,
        prompt: Template,
        deliver: Callable[[dict[str, Any]], None],
        context: Mapping[str, str] | None = None,
        max_per_hour: int = 6,
        timeout_s: float = 30.0,
        queue_size: int = 8,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._url = f"{url.rstrip('/')}/api/generate"
        self._model = model
        self._prompt = prompt
        self._deliver = deliver
        self._context = dict(context or {})
        self._max_per_hour = max_per_hour
        self._timeout = timeout_s
        self._queue: asyncio.Queue[tuple[str, Mapping[str, Any]]] = asyncio.Queue(queue_size)
        self._clock = clock
        self._wall = wall
        self._recent: deque[float] = deque()
        self.stats: dict[str, int] = {"explained": 0, "dropped": 0, "rate_limited": 0, "failed": 0}

    def submit(self, event_id: str, event: Mapping[str, Any]) -> bool:
        """Queue a flagged reading for explanation; False when dropped (busy or over budget)."""
        now = self._clock()
        while self._recent and now - self._recent[0] >= 3600:
            self._recent.popleft()
        if len(self._recent) >= self._max_per_hour:
            self.stats["rate_limited"] += 1
            return False
        try:
            self._queue.put_nowait((event_id, event))
        except asyncio.QueueFull:
            self.stats["dropped"] += 1
            return False
        self._recent.append(now)
        return True

    async def run(self) -> None:
        """Explain queued readings one at a time, forever (cancel to stop)."""
        while True:
            event_id, event = await self._queue.get()
            try:
                text = await self.explain(event)
            except ExplainError as exc:
                self.stats["failed"] += 1
                log.warning("explanation of %s skipped: %s", event_id, exc)
                continue
            self.stats["explained"] += 1
            self._safe_deliver(
                {
                    "type": "explanation",
                    "ts": self._wall(),
                    "ref": event_id,
                    "text": text,
                    "model": self._model,
                }
            )

    def _safe_deliver(self, event: dict[str, Any]) -> None:
        try:
            self._deliver(event)
        except Exception:  # an explanation is optional: never let it stop the task
            log.exception("explanation of %s could not be stored", event.get("ref"))

    def render(self, event: Mapping[str, Any]) -> str:
        """The prompt for one flagged reading."""
        baseline = event.get("baseline") or {}
        fields = {
            **self._context,
            **{k: "" if v is None else str(v) for k, v in event.items() if k != "baseline"},
            "baseline_mean": str(baseline.get("mean", "unknown")),
            "baseline_std": str(baseline.get("std", "unknown")),
        }
        return self._prompt.safe_substitute(fields)

    async def explain(self, event: Mapping[str, Any]) -> str:
        """Ask the model about one reading; raise ExplainError on timeout or a bad answer."""
        body = {
            "model": self._model,
            "prompt": self.render(event),
            "stream": False,
            "options": {"temperature": 0.2, "num_predict": 160},
        }
        try:
            async with asyncio.timeout(self._timeout):
                response = await self._client.post(self._url, json=body, timeout=self._timeout)
        except TimeoutError:
            raise ExplainError(
                f"Ollama at {self._url} took longer than {self._timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise ExplainError(f"Ollama at {self._url} unreachable: {exc!r}") from None
        if response.status_code != 200:
            raise ExplainError(f"Ollama answered {response.status_code}: {response.text[:200]}")
        try:
            text = response.json().get("response")
        except (ValueError, AttributeError):
            text = None
        if not isinstance(text, str) or not text.strip():
            raise ExplainError(f"Ollama gave no text: {response.text[:200]}")
        return text.strip()[:MAX_TEXT]
