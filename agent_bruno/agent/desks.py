"""Capabilities beside the agent that answer some sentences themselves, behind one interface.

The alert service is one: "Alert me if humidity drops below 30%" creates a subscription for the
caller, "stop the humidity alert" deletes it. The agent asks each desk whether a sentence is
its own before running the graph, and relays the desk's reply as its answer (one tool call in
the record). Until the understanding framework carries these intents as data, this is how
`/query`, `/chat` and `agent-bruno ask` reach them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class DeskReply:
    """A desk's answer: the words, the data behind them, and what "it" now refers to."""

    text: str
    data: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    refers_to: str | None = None


class Desk(Protocol):
    """Answers the sentences it recognises, for an owner."""

    name: str

    def recognises(self, text: str) -> bool:
        """Whether the sentence is this desk's (cheap, pure)."""

    async def handle(self, owner: str, text: str, refers_to: str | None) -> DeskReply:
        """Answer the sentence for `owner`; `refers_to` is what "it" meant last in the thread."""
