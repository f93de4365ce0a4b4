"""Subscriptions and alert changes for the alert tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from agent_bruno.alerts.engine import Change, State
from agent_bruno.alerts.evaluator import AlertChange, fingerprint
from agent_bruno.alerts.model import AnyRule, ThresholdRule, Timing
from agent_bruno.alerts.subscription import Destination, Subscription

T0 = 1_764_000_000.0
RULE = ThresholdRule(metric="humidity", op="below", value=30, hysteresis=2, unit="%")
HOOK = Destination(kind="webhook", url="https://hooks.example.com/x")


def subscription(
    sub_id: str = "sub_1",
    rule: AnyRule = RULE,
    owner: str = "api:alice",
    timing: Timing | None = None,
    **extra: object,
) -> Subscription:
    """A subscription with Alertmanager's default timers unless told otherwise."""
    return Subscription(
        id=sub_id, owner=owner, name="humidity low", rule=rule, destination=HOOK,
        timing=timing or Timing(), created_at=T0, updated_at=T0, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def labels(
    location: str = "warehouse", node: str = "pi-node-1", sensor: str = "dht22-1"
) -> dict[str, str]:
    return {"cluster": "homelab", "location": location, "node": node, "sensor": sensor,
            "metric": "humidity", "unit": "%"}  # fmt: skip


def change(
    sub: Subscription, status: str, at: float, lab: dict[str, str] | None = None,
    severity: str | None = None, since: float = T0,
) -> AlertChange:  # fmt: skip
    lab = lab or labels()
    c = Change(status, at, since, 28.0, 28.0, "", severity)  # type: ignore[arg-type]
    return AlertChange(sub, fingerprint(sub.id, lab), lab, c, State())


async def settled_notifications(
    client: httpx.AsyncClient, timeout_s: float = 5.0
) -> list[dict[str, Any]]:
    """`GET /v1/notifications` once none is pending: the sender records a delivery just after
    the receiver has answered, so reading at once may still see `pending` (seen under load)."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows: list[dict[str, Any]] = (await client.get("/v1/notifications")).json()["notifications"]
        if all(r["status"] != "pending" for r in rows) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.05)
