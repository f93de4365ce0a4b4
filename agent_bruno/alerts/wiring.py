"""`open_alerts(settings, storage)`: the alert service with its HTTP client, built once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
from pydantic import SecretStr

from agent_bruno.alerts.clock import Clock
from agent_bruno.alerts.config import AlertConfig
from agent_bruno.alerts.destinations import DestinationPolicy, Resolver, system_resolve
from agent_bruno.alerts.model import Timing
from agent_bruno.alerts.service import AlertService
from agent_bruno.alerts.subscription import Destination
from agent_bruno.health import Thresholds
from agent_bruno.settings import Settings
from agent_bruno.storage.base import Storage
from agent_bruno.tls import client_tls


def alert_config(settings: Settings) -> AlertConfig:
    """The alert service's configuration from the settings."""
    default = None
    if settings.alert_default_url:
        secret = settings.alert_default_secret
        default = Destination(
            kind=settings.alert_default_kind,
            url=settings.alert_default_url,
            secret=SecretStr(secret.get_secret_value()) if secret else None,
        )
    return AlertConfig(
        database=settings.database_path,
        policy=DestinationPolicy.parse(settings.alert_allow_hosts),
        default_destination=default,
        timing=Timing(
            group_wait_s=settings.alert_group_wait_s,
            group_interval_s=settings.alert_group_interval_s,
            repeat_interval_s=max(
                settings.alert_repeat_interval_s, settings.alert_group_interval_s
            ),
        ),
        link_base=settings.public_url,
        max_per_owner=settings.alert_max_per_owner,
        thresholds=Thresholds(
            offline_after_intervals=settings.offline_after_intervals,
            cpu_percent=settings.cpu_warn_percent,
            memory_percent=settings.memory_warn_percent,
            disk_percent=settings.disk_warn_percent,
            soc_temp_c=settings.soc_temp_warn_c,
            outbox_depth=settings.outbox_depth_warn,
        ),
    )


@asynccontextmanager
async def open_alerts(
    settings: Settings,
    storage: Storage,
    resolve: Resolver = system_resolve,
    on_outcome: Callable[[str, str], None] | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[AlertService]:
    """Start the alert service; stop it (the outbox keeps what is unsent) on exit."""
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
    async with httpx.AsyncClient(
        trust_env=False, limits=limits, verify=client_tls(trust_env=False)
    ) as client:
        service = AlertService(
            alert_config(settings),
            storage,
            client,
            clock=clock or Clock(),
            resolve=resolve,
            on_outcome=on_outcome,
        )
        await service.start()
        try:
            yield service
        finally:
            await service.close()
