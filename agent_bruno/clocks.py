"""Each reporter's clock offset from the agent's, estimated from its batches' `sent_at`.

offset = sent_at (the reporter's clock as it sent) − received_at (the agent's clock): positive
when the reporter runs ahead. Network delay makes it read a few milliseconds low, which is why
only offsets beyond CORRECT_ABOVE_S shift a batch's timestamps. Kept in memory (re-estimated
from the next batch after a restart); logged once each time a reporter crosses the warning bound.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

# Below this the estimate is network delay and jitter, not a wrong clock.
CORRECT_ABOVE_S = 1.0


@dataclass(frozen=True, slots=True)
class Offset:
    """The latest estimate for one reporter."""

    seconds: float
    at: float  # agent time of the batch it came from


@dataclass(slots=True)
class ClockOffsets:
    """The latest offset per reporter node (used on the event loop only)."""

    _offsets: dict[str, Offset] = field(default_factory=dict)

    def observe(self, node: str, sent_at: float, received_at: float, warn_s: float) -> float:
        """Record one batch's estimate; return the shift to apply to its timestamps."""
        offset = sent_at - received_at
        previous = self._offsets.get(node)
        self._offsets[node] = Offset(offset, received_at)
        was_off = previous is not None and abs(previous.seconds) > warn_s
        if abs(offset) > warn_s and not was_off:
            log.warning(
                "reporter %s's clock is %s the agent's by %.1f s; its timestamps are shifted by "
                "that much at ingest; fix its time sync (NTP)",
                node,
                "ahead of" if offset > 0 else "behind",
                abs(offset),
            )
        elif was_off and abs(offset) <= warn_s:
            log.warning("reporter %s's clock is within %.0f s of the agent's again", node, warn_s)
        return offset if abs(offset) > CORRECT_ABOVE_S else 0.0

    def get(self, node: str) -> Offset | None:
        """The latest estimate for `node`, if any batch carried `sent_at`."""
        return self._offsets.get(node)

    def all(self) -> dict[str, Offset]:
        """Every node's latest estimate."""
        return dict(self._offsets)
