"""Capabilities beside the agent that answer some sentences themselves, behind one interface.

The alert service is one: "Alert me if humidity drops below 30%" creates a subscription for the
caller, "stop the humidity alert" deletes it. Which sentences are a desk's is decided by the
built-in understanding: each desk names the intents it answers (`intents`, declared like every
other intent as examples under `nlu/intents/`), and the agent hands a sentence whose intent is
one of them to that desk before running the graph; a desk also takes what continues its own
exchange in a thread ("make it 25% instead" right after it created a subscription, "the
warehouse" after it asked "Which humidity?"). The desk's
reply is relayed as the answer (one tool call in the record). This is how `/query`, `/chat` and
`agent-bruno ask` reach them.
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
    intents: frozenset[str]  # the intents (nlu/intents/*.yaml) whose sentences it answers

    def continues(self, owner: str, text: str, refers_to: str | None) -> bool:
        """Whether the sentence continues this desk's exchange in a thread (cheap, no I/O):
        `refers_to` is what the desk's last reply in the thread referred to (a subscription,
        or a question it is waiting to have answered)."""

    async def handle(
        self, owner: str, text: str, refers_to: str | None, intent: str | None
    ) -> DeskReply:
        """Answer the sentence for `owner`; `refers_to` is what "it" meant last in the thread,
        `intent` the classifier's reading (None when the desk took it as its exchange's next
        step)."""
