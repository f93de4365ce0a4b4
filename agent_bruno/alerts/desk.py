"""The alert service as an agent desk: subscriptions created and managed in conversation."""

from __future__ import annotations

import asyncio
from datetime import tzinfo

from agent_bruno.agent.desks import DeskReply
from agent_bruno.agent.nlu.vocabulary import Vocabulary
from agent_bruno.alerts.chat import handle
from agent_bruno.alerts.parse import command, looks_like_subscription
from agent_bruno.alerts.service import AlertService
from agent_bruno.storage.base import Storage


class AlertDesk:
    """Recognises subscription sentences and answers them through `alerts.chat`."""

    name = "subscriptions"

    def __init__(self, alerts: AlertService, storage: Storage, tz: tzinfo) -> None:
        self._alerts = alerts
        self._storage = storage
        self._tz = tz

    def recognises(self, text: str) -> bool:
        """ "Alert me if …", "page me on …", or managing ("stop the humidity alert")."""
        return looks_like_subscription(text) or command(text) is not None

    async def handle(self, owner: str, text: str, refers_to: str | None) -> DeskReply:
        """Create or manage the owner's subscription."""
        vocab = Vocabulary.from_catalog(await asyncio.to_thread(self._storage.catalog))
        reply = await handle(self._alerts, owner, text, vocab, self._tz, refers_to)
        return DeskReply(reply.text, reply.data, reply.done, reply.subscription)
