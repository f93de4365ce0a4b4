"""The alert service as an agent desk: subscriptions created and managed in conversation."""

from __future__ import annotations

import asyncio
from datetime import tzinfo

from agent_bruno.agent.desks import DeskReply
from agent_bruno.alerts.chat import handle
from agent_bruno.alerts.commands import command
from agent_bruno.alerts.scoping import cancels, looks_like_answer
from agent_bruno.alerts.service import AlertService
from agent_bruno.storage.base import Storage

# The intents of nlu/intents/alert_*.yaml: creating, listing, changing and snoozing or stopping.
ALERT_INTENTS = frozenset({"alert_subscribe", "alert_list", "alert_change", "alert_snooze"})


class AlertDesk:
    """Answers the alert intents' sentences through `alerts.chat`."""

    name = "subscriptions"
    intents = ALERT_INTENTS

    def __init__(self, alerts: AlertService, storage: Storage, tz: tzinfo) -> None:
        self._alerts = alerts
        self._storage = storage
        self._tz = tz

    def continues(self, owner: str, text: str, refers_to: str | None) -> bool:
        """Managing what this thread just set up ("make it 25% instead", "snooze it"), or
        answering the question it asked ("Which humidity?" → "the warehouse")."""
        if self._alerts.pending.get(owner, refers_to) is not None:
            return cancels(text) or looks_like_answer(text) or command(text) is not None
        return command(text) is not None

    async def handle(
        self, owner: str, text: str, refers_to: str | None, intent: str | None
    ) -> DeskReply:
        """Create or manage the owner's subscription."""
        catalog = await asyncio.to_thread(self._storage.catalog)
        reply = await handle(self._alerts, owner, text, catalog, self._tz, refers_to, intent)
        return DeskReply(reply.text, reply.data, reply.done, reply.subscription)
