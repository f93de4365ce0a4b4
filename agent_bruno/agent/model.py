"""The chat model client: ChatOllama, built once at start-up and passed to the graph."""

from __future__ import annotations

from langchain_ollama import ChatOllama


def build_chat_model(
    base_url: str, model: str, timeout_s: float, headers: dict[str, str] | None = None
) -> ChatOllama:
    """A deterministic ChatOllama client for `model` at `base_url`; no request is made here."""
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
