"""Active rules indexed by what they watch: by metric, then by the most specific scope field.

An observation is offered only to the rules of its metric whose scope can match; threshold
rules are kept sorted by value, so the crossed ones are found by bisection, and rate rules are
grouped by (direction, window) so one measured change serves all of a group.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from agent_bruno.alerts.model import AnyRule, RateRule, ThresholdRule
from agent_bruno.alerts.subscription import Subscription

if TYPE_CHECKING:
    from agent_bruno.alerts.evaluator import SeriesLabels

RateDir = Literal["rise", "fall"]


def scope_key(rule: AnyRule) -> tuple[str, str] | None:
    """The most specific scope field, for the index (None: matches every series)."""
    s = rule.scope
    if s.sensor and s.node:
        return ("sensor", f"{s.node}/{s.sensor}")
    if s.node:
        return ("node", s.node)
    if s.location:
        return ("location", s.location)
    if s.cluster:
        return ("cluster", s.cluster)
    return None


@dataclass(slots=True)
class Bucket:
    """The rules of one metric and one scope key. Threshold rules are kept sorted by value, so
    an observation finds the ones it crosses by bisection instead of trying each."""

    below: list[tuple[float, Subscription]] = field(default_factory=list)
    above: list[tuple[float, Subscription]] = field(default_factory=list)
    below_values: list[float] = field(default_factory=list)
    above_values: list[float] = field(default_factory=list)
    # Rate rules by (direction, window): one change per group, the rules sorted by delta.
    rates: dict[tuple[RateDir, float], list[tuple[float, Subscription]]] = field(
        default_factory=dict
    )
    rate_deltas: dict[tuple[RateDir, float], list[float]] = field(default_factory=dict)
    other: list[Subscription] = field(default_factory=list)  # episode rules

    def add(self, sub: Subscription) -> None:
        rule = sub.rule
        if isinstance(rule, ThresholdRule):
            (self.below if rule.op == "below" else self.above).append((rule.value, sub))
        elif isinstance(rule, RateRule):
            group = (rule.direction, rule.window_s)
            self.rates.setdefault(group, []).append((rule.delta, sub))
        else:
            self.other.append(sub)

    def seal(self) -> None:
        self.below.sort(key=lambda p: p[0])
        self.above.sort(key=lambda p: p[0])
        self.below_values = [v for v, _ in self.below]
        self.above_values = [v for v, _ in self.above]
        for group, rules in self.rates.items():
            rules.sort(key=lambda p: p[0])
            self.rate_deltas[group] = [d for d, _ in rules]

    def crossed(self, lo: float, hi: float) -> Iterable[Subscription]:
        """Threshold rules an observation with this min and max crosses."""
        for _, sub in self.below[bisect_right(self.below_values, lo) :]:  # value > min
            yield sub
        for _, sub in self.above[: bisect_left(self.above_values, hi)]:  # value < max
            yield sub


@dataclass(slots=True)
class RuleIndex:
    """Series rules of one metric, by scope key."""

    by_scope: dict[tuple[str, str] | None, Bucket] = field(default_factory=dict)

    def buckets(self, s: SeriesLabels) -> Iterable[Bucket]:
        get = self.by_scope.get
        for key in (
            None,
            ("cluster", s.cluster),
            ("location", s.location),
            ("node", s.node),
            ("sensor", f"{s.node}/{s.sensor}"),
        ):
            bucket = get(key)
            if bucket is not None:
                yield bucket

    def candidates(self, s: SeriesLabels) -> Iterable[Subscription]:
        for bucket in self.buckets(s):
            yield from bucket.other
            for _, sub in bucket.below:
                yield sub
            for _, sub in bucket.above:
                yield sub
            for rules in bucket.rates.values():
                for _, sub in rules:
                    yield sub

    def longest_window(self) -> float:
        """The longest window of this metric's rate rules (0: none)."""
        return max((w for b in self.by_scope.values() for (_, w) in b.rates), default=0.0)
