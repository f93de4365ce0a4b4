"""What is degraded in this reporter right now: one log line per change, a snapshot for /healthz.

Components (the outbox, the raw store) report a problem when a write fails and clear it when one
succeeds again. A problem is logged once when it starts and once when it ends, never once per
reading; counters (events held in memory, files quarantined) are kept beside it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("edge_reporter")


@dataclass(slots=True)
class Problem:
    """One degraded component: what is wrong, since when, and what the reporter does about it."""

    detail: str
    consequence: str
    since: float


class Status:
    """Thread-safe: the read API's thread reads the snapshot while the loop updates it."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._problems: dict[str, Problem] = {}
        self.counters: dict[str, int] = {}

    def problem(self, component: str, detail: str, consequence: str) -> None:
        """Mark `component` degraded; logged only when it was not degraded already."""
        with self._lock:
            if component in self._problems:
                self._problems[component].detail = detail
                return
            self._problems[component] = Problem(detail, consequence, self._clock())
        log.error("DEGRADED: %s: %s; %s", component, detail, consequence)

    def resolved(self, component: str) -> None:
        """Clear `component`'s problem; logged only when it had one."""
        with self._lock:
            problem = self._problems.pop(component, None)
        if problem is not None:
            log.warning(
                "RECOVERED: %s works again after %.0f s (%s)",
                component,
                self._clock() - problem.since,
                problem.detail,
            )

    def count(self, name: str, n: int = 1) -> None:
        """Add `n` to counter `name` (e.g. files quarantined)."""
        with self._lock:
            self.counters = {**self.counters, name: self.counters.get(name, 0) + n}

    def has_problem(self, component: str) -> bool:
        """Whether `component` is degraded."""
        with self._lock:
            return component in self._problems

    def degraded(self) -> bool:
        """Whether any component has a problem."""
        with self._lock:
            return bool(self._problems)

    def snapshot(self) -> dict[str, Any]:
        """`{"status": "ok" | "degraded", "problems": {...}, "counters": {...}}` for /healthz."""
        with self._lock:
            problems = {
                name: {"detail": p.detail, "consequence": p.consequence, "since": round(p.since, 3)}
                for name, p in sorted(self._problems.items())
            }
            counters = dict(sorted(self.counters.items()))
        return {
            "status": "degraded" if problems else "ok",
            "problems": problems,
            "counters": counters,
        }
