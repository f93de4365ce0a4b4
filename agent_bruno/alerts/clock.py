"""The alert service's time: what time it is, and how its loops wait.

Built once and passed in (`AlertService(clock=...)`, `open_alerts(clock=...)`); the default
is the system's. A wait that ends at a time the service computed (a retry's due time, a group's
next flush) goes through `until`, so a test's clock can move time to that moment instead of
sleeping through it, and see the delay that was asked for; the once-a-second tick keeps its
pace through `sleep`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Clock:
    """The system clock and asyncio's waits."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now

    def now(self) -> float:
        """Seconds since the epoch."""
        return self._now()

    async def sleep(self, seconds: float) -> None:
        """Pause a periodic loop for `seconds`."""
        await asyncio.sleep(seconds)

    async def until(self, event: asyncio.Event, deadline: float | None) -> bool:
        """Wait until `event` is set (True) or the clock reaches `deadline` (False); with no
        deadline, only the event ends the wait."""
        timeout = None if deadline is None else max(0.0, deadline - self.now())
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


def as_clock(clock: Clock | Callable[[], float]) -> Clock:
    """A `Clock` from a clock or a bare `now` function (a frozen clock for evals)."""
    return clock if isinstance(clock, Clock) else Clock(clock)
