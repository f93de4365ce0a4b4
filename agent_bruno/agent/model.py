"""The chat model client: ChatOllama, built once at start-up and passed to the graph.

`langchain_ollama` is imported only when a model is configured: most homelabs run none, and
it was a tenth of the CPU `agent-bruno serve` spends before it answers (bench/bench_startup.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from langchain_core.exceptions import OutputParserException
from ollama import RequestError, ResponseError
from pydantic import ValidationError

if TYPE_CHECKING:
    from langchain_ollama import ChatOllama

REASON_CHARS = 200


def build_chat_model(
    base_url: str, model: str, timeout_s: float, headers: dict[str, str] | None = None
) -> ChatOllama:
    """A deterministic ChatOllama client for `model` at `base_url`; no request is made here."""
    from langchain_ollama import ChatOllama  # only with a model configured

    client_kwargs: dict[str, object] = {"timeout": timeout_s}
    if headers:
        client_kwargs["headers"] = dict(headers)
    return ChatOllama(
        base_url=base_url,
        model=model,
        temperature=0,
        client_kwargs=client_kwargs,
        validate_model_on_init=False,
    )


def model_failure(exc: BaseException, timeout_s: float) -> str:
    """Why a model call failed, in a few words for a person (the fallback reason)."""
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"model timed out after {timeout_s:g} s"
    if isinstance(exc, ResponseError):
        return shorten(f"model server answered HTTP {exc.status_code}: {exc.error}")
    if isinstance(exc, httpx.ConnectError):
        return shorten(f"cannot reach the model server: {exc}")
    if isinstance(exc, httpx.HTTPError):
        return shorten(f"model request failed: {type(exc).__name__}: {exc}")
    if isinstance(exc, ValidationError | OutputParserException | RequestError):
        first = str(exc).strip().splitlines()
        detail = " ".join(first[:3]) if first else type(exc).__name__
        return shorten(f"model sent a malformed reply: {detail}")
    text = str(exc).strip()
    return shorten(f"model failed: {type(exc).__name__}" + (f": {text}" if text else ""))


def shorten(text: str) -> str:
    """`text` on one line, cut to `REASON_CHARS` with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"
