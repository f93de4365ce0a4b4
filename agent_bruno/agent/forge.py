"""The Forge client: ask a larger remote model for an analysis, with data attached.

Two wire flavours, chosen by configuration: Ollama's native ``/api/chat`` and the
OpenAI-compatible ``/v1/chat/completions``, both non-streaming. The data travels as compact
JSON in a fenced block; data over the size budget is summarised list by list, and the message
says so, instead of being cut. Every failure surfaces as one `ForgeError`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import orjson

from agent_bruno.textsafe import fence

TEMPERATURE = 0.2
_EXCERPT_CHARS = 300


class ForgeError(Exception):
    """A Forge call failed; the message says what and where, `retryable` whether to try again."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class ForgeConfig:
    """Where the Forge model lives and how to call it."""

    base_url: str
    model: str
    api: Literal["ollama", "openai"] = "ollama"
    api_key: str | None = None
    timeout_s: float = 60.0
    max_data_chars: int = 24_000

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"Forge base_url must start with http:// or https://: {self.base_url!r}"
            )
        if self.api not in ("ollama", "openai"):
            raise ValueError(f"Forge api must be 'ollama' or 'openai', not {self.api!r}")
        if not self.model:
            raise ValueError("Forge model must not be empty")
        if self.timeout_s <= 0:
            raise ValueError(f"Forge timeout_s must be positive, not {self.timeout_s!r}")
        if self.max_data_chars <= 0:
            raise ValueError(f"Forge max_data_chars must be positive, not {self.max_data_chars!r}")

    @property
    def chat_url(self) -> str:
        """Return the chat endpoint for the configured API flavour."""
        base = self.base_url.rstrip("/")
        if self.api == "ollama":
            return f"{base}/api/chat"
        # OpenAI-style base URLs usually already end in /v1.
        return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


@dataclass(frozen=True, slots=True)
class ForgeAnswer:
    """The Forge model's answer and what was sent to get it."""

    text: str
    model: str
    duration_s: float
    data_chars: int  # characters of data JSON actually sent
    data_truncated: bool  # True when lists were summarised to fit max_data_chars


@dataclass(frozen=True, slots=True)
class PackedData:
    """Data serialised for the prompt: the JSON text and the lists that were summarised."""

    json: str
    summarised: tuple[str, ...]  # "path (N items total, first K shown)" per summarised list


class ForgeClient:
    """Call the Forge model over HTTP with an httpx client owned by the caller."""

    def __init__(self, config: ForgeConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http

    async def analyze(
        self, system_prompt: str, question: str, data: Mapping[str, Any]
    ) -> ForgeAnswer:
        """Ask `question` about `data` under `system_prompt`; raise ForgeError on any failure."""
        config = self._config
        packed = pack_data(data, config.max_data_chars)
        messages = [
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": user_message(question, packed)},
        ]
        started = time.monotonic()
        body = await self._post(self._request_body(messages))
        text, model = _parse_answer(config.api, body, config.chat_url)
        return ForgeAnswer(
            text=text,
            model=model or config.model,
            duration_s=time.monotonic() - started,
            data_chars=len(packed.json),
            data_truncated=bool(packed.summarised),
        )

    def _request_body(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        if self._config.api == "ollama":
            return {
                "model": self._config.model,
                "messages": messages,
                "stream": False,
                "options": {"temperature": TEMPERATURE},
            }
        return {
            "model": self._config.model,
            "messages": messages,
            "stream": False,
            "temperature": TEMPERATURE,
        }

    async def _post(self, payload: dict[str, Any]) -> Any:
        config = self._config
        url = config.chat_url
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        try:
            async with asyncio.timeout(config.timeout_s):
                response = await self._http.post(
                    url,
                    content=orjson.dumps(payload),
                    headers={"Content-Type": "application/json", **headers},
                    timeout=httpx.Timeout(config.timeout_s),
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise ForgeError(
                f"Forge model {config.model!r} at {url} did not answer within "
                f"{config.timeout_s:g} s; ask a narrower question or raise the Forge timeout",
                retryable=True,
            ) from exc
        except httpx.ConnectError as exc:
            raise ForgeError(
                f"cannot connect to Forge at {url} ({exc or 'connection refused'}); "
                "check the Forge base URL and that the server is running",
                retryable=True,
            ) from exc
        except httpx.HTTPError as exc:
            raise ForgeError(
                f"request to Forge at {url} failed: {type(exc).__name__}: {exc}", retryable=True
            ) from exc
        if response.status_code != httpx.codes.OK:
            raise ForgeError(
                f"Forge at {url} answered HTTP {response.status_code}: {_excerpt(response.text)}",
                retryable=response.status_code >= 500 or response.status_code == 429,
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise ForgeError(
                f"malformed response from Forge at {url}: not JSON: {_excerpt(response.text)}"
            ) from exc


def user_message(question: str, packed: PackedData) -> str:
    """Return the user turn: the question, any summary notice, then the data as JSON in a
    block marked untrusted."""
    parts = [question.strip(), ""]
    if packed.summarised:
        parts.append(
            "Data summarised: "
            + "; ".join(packed.summarised)
            + ". Each summarised list is an object with items_total (exact), items_shown and"
            " first (the first items_shown items); base conclusions on what is shown."
        )
        parts.append("")
    parts.append(fence("agent data", packed.json))  # data, never instructions
    return "\n".join(parts)


def pack_data(data: Mapping[str, Any], max_chars: int) -> PackedData:
    """Serialise `data` compactly, halving its largest lists into summaries until it fits."""
    text = _dumps(data)
    if len(text) <= max_chars:
        return PackedData(text, ())
    tree: Any = orjson.loads(text)
    summaries: set[int] = set()
    made: list[dict[str, Any]] = []
    while len(text) > max_chars:
        largest = max(
            (node for node in _lists(tree) if node[2]),
            # Size without nested lists, so an outer list is not halved for its inner ones' bulk.
            key=lambda node: len(_dumps(_without_lists(node[2]))),
            default=None,
        )
        if largest is None:
            raise ForgeError(
                f"the data for Forge is {len(text)} characters of JSON even with every list "
                f"summarised, over max_data_chars={max_chars}; attach less data"
            )
        parent, key, items = largest
        shown = len(items) // 2
        if id(parent) in summaries:  # shrink an existing summary further
            parent["first"], parent["items_shown"] = items[:shown], shown
        else:
            summary = {"items_total": len(items), "items_shown": shown, "first": items[:shown]}
            summaries.add(id(summary))
            made.append(summary)  # kept alive so no id in `summaries` is ever reused
            parent[key] = summary
        text = _dumps(tree)
    notes = tuple(
        f"{path} ({node['items_total']} items total, first {node['items_shown']} shown)"
        for path, node in _summaries(tree, "", summaries)
    )
    return PackedData(text, notes)


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _without_lists(node: Any) -> Any:
    """Return a copy of `node` with every nested list emptied."""
    if isinstance(node, dict):
        return {k: [] if isinstance(v, list) else _without_lists(v) for k, v in node.items()}
    if isinstance(node, list):
        return [[] if isinstance(v, list) else _without_lists(v) for v in node]
    return node


def _lists(node: Any) -> Iterator[tuple[Any, Any, list[Any]]]:
    """Yield (parent, key, list) for every list under `node`."""
    children: Iterator[tuple[Any, Any]]
    if isinstance(node, dict):
        children = iter(node.items())
    elif isinstance(node, list):
        children = enumerate(node)
    else:
        return
    for key, child in children:
        if isinstance(child, list):
            yield node, key, child
        yield from _lists(child)


def _summaries(node: Any, path: str, summaries: set[int]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (path, summary) for every summary object still in the tree."""
    if isinstance(node, dict):
        if id(node) in summaries:
            yield path or "data", node
        for key, child in node.items():
            yield from _summaries(child, f"{path}.{key}" if path else str(key), summaries)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _summaries(child, f"{path}[{index}]", summaries)


def _parse_answer(api: str, body: Any, url: str) -> tuple[str, str | None]:
    """Return (text, model) from a chat response body, or raise ForgeError."""
    try:
        if api == "ollama":
            content = body["message"]["content"]
        else:
            content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ForgeError(
            f"malformed response from Forge at {url}: no answer text in {_excerpt(_dumps(body))}"
        ) from None
    if not isinstance(content, str) or not content.strip():
        raise ForgeError(f"Forge at {url} returned an empty answer: {_excerpt(_dumps(body))}")
    model = body.get("model") if isinstance(body, dict) else None
    return content, model if isinstance(model, str) else None


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT_CHARS else flat[:_EXCERPT_CHARS] + "…"
