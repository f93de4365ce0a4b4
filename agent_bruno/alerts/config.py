"""What the alert service is configured with, and the error its requests are refused with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent_bruno.alerts.delivery import RetryPolicy
from agent_bruno.alerts.destinations import DestinationPolicy
from agent_bruno.alerts.model import Timing
from agent_bruno.alerts.subscription import Destination
from agent_bruno.health import Thresholds


class SubscriptionError(ValueError):
    """A subscription request is refused; `status` is the HTTP status it maps to."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """What the alert service is configured with (from Settings)."""

    database: Path
    policy: DestinationPolicy
    default_destination: Destination | None = None
    timing: Timing = field(default_factory=Timing)
    link_base: str | None = None
    max_per_owner: int = 2000
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    thresholds: Thresholds = field(default_factory=Thresholds)
