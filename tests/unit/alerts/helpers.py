"""Subscriptions and alert changes for the alert tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import httpx

from agent_bruno.alerts.clock import Clock
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


class SkipClock(Clock):
    """Real time plus an offset that only moves forward. `skip()` waits until the service waits
    for a time it computed (a retry's due time, a group's next flush), moves the clock there at
    once instead of sleeping through it, and returns the delay the service asked for; the
    receivers stamp arrivals with the same clock, so gaps between them are the service's."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = 0.0
        self.asked: list[float] = []  # the delay each skipped wait asked for
        self._waits: dict[object, tuple[float, float]] = {}  # token -> (deadline, asked)
        self._changed: asyncio.Event | None = None  # a wait began, or the clock moved

    def now(self) -> float:
        return time.time() + self.offset

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _poke(self) -> None:
        self._event().set()
        self._changed = asyncio.Event()

    async def until(self, event: asyncio.Event, deadline: float | None) -> bool:
        if deadline is None or event.is_set():
            await event.wait()
            return True
        token = object()
        self._waits[token] = (deadline, deadline - self.now())
        self._poke()
        try:
            while (left := deadline - self.now()) > 0:
                changed = self._event()
                waits = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(changed.wait())]
                try:
                    await asyncio.wait(waits, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waits:
                        w.cancel()
                if event.is_set():
                    return True
            return False
        finally:
            del self._waits[token]

    async def skip(
        self, unless: Callable[[], bool] = lambda: False, timeout_s: float = 10.0
    ) -> float | None:
        """Move the clock to the earliest wait's deadline ahead, once one begins; return the
        delay that wait asked for. None when `unless()` came true first (it is checked every
        10 ms while nothing waits: what was to be skipped had already happened)."""
        async with asyncio.timeout(timeout_s):
            while True:
                ahead = [w for w in self._waits.values() if w[0] > self.now()]
                if ahead:
                    deadline, asked = min(ahead)
                    self.offset += deadline - self.now() + 1e-6
                    self.asked.append(asked)
                    self._poke()
                    return asked
                if unless():
                    return None
                changed = self._event()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 0.01)
