"""Rules waiting for an answer: "Which humidity? …" asked in a conversation, completed by the
next reply in the same conversation (a `/query` or `/chat` thread, a Slack channel).

Kept in memory, per owner and conversation, for `TTL_S`; nothing is created until the answer
comes, so a restart or an expiry loses only the question (the person asks again).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from agent_bruno.alerts.model import AnyRule
from agent_bruno.alerts.scoping import Which
from agent_bruno.alerts.subscription import ChannelKind

TTL_S = 1800.0
MAX_PENDING = 10_000
PREFIX = "ask_"  # conversation keys the desk hands back as the thread's "it"


@dataclass(frozen=True, slots=True)
class Pending:
    """A rule understood but not created: what it lacks, and what the sentence said."""

    rule: AnyRule
    which: Which
    channel: ChannelKind | None
    notes: tuple[str, ...]
    asked_at: float


class PendingRules:
    """Pending rules by (owner, conversation), oldest evicted first."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._items: OrderedDict[tuple[str, str], Pending] = OrderedDict()

    @staticmethod
    def new_key() -> str:
        """A conversation key for a channel that has none of its own (an agent thread)."""
        return PREFIX + secrets.token_hex(6)

    def put(self, owner: str, key: str, pending: Pending) -> None:
        """Remember what `owner` was asked in conversation `key` (replacing an older one)."""
        self._items[(owner, key)] = pending
        self._items.move_to_end((owner, key))
        while len(self._items) > MAX_PENDING:
            self._items.popitem(last=False)

    def get(self, owner: str, key: str | None) -> Pending | None:
        """The rule waiting in this conversation, if it has not expired."""
        if key is None:
            return None
        found = self._items.get((owner, key))
        if found is not None and self._clock() - found.asked_at > TTL_S:
            del self._items[(owner, key)]
            return None
        return found

    def drop(self, owner: str, key: str | None) -> None:
        """Forget the conversation's pending rule (answered, cancelled or replaced)."""
        if key is not None:
            self._items.pop((owner, key), None)
