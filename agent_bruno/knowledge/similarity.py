"""How alike two anomaly episodes are: place, metric, shape and time of day. Pure functions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, tzinfo

from agent_bruno.knowledge.model import EpisodeFact

# Weights of each resemblance; they add up to 1.
WEIGHTS = {
    "location": 0.25,
    "metric": 0.25,
    "direction": 0.15,
    "size": 0.15,
    "duration": 0.10,
    "time_of_day": 0.10,
}
MIN_SIMILARITY = 0.5  # below this a past incident is not offered as an explanation


@dataclass(frozen=True, slots=True)
class Resemblance:
    """A similarity in [0, 1] and the resemblances a person would name."""

    score: float
    reasons: tuple[str, ...]


def direction(sigma: float | None) -> int:
    """+1 above the baseline, -1 below, 0 unknown."""
    if sigma is None or sigma == 0:
        return 0
    return 1 if sigma > 0 else -1


def _ratio_closeness(a: float, b: float, spread: float) -> float:
    """1 when equal, falling to 0 when one is `spread` times the other."""
    if a <= 0 or b <= 0:
        return 0.0
    return max(0.0, 1.0 - abs(math.log(a / b)) / math.log(spread))


def hour_of_day(ts: float, tz: tzinfo) -> float:
    """The local hour (fractional) of a Unix time."""
    t = datetime.fromtimestamp(ts, tz)
    return t.hour + t.minute / 60


def _hours_apart(a: float, b: float) -> float:
    """Distance of two hours of the day on the clock (0-12)."""
    d = abs(a - b) % 24
    return min(d, 24 - d)


@dataclass(frozen=True, slots=True)
class Shape:
    """What `score` compares of an episode, worked out once (the time zone's hour included)."""

    location: str
    metric: str
    kind: str
    direction: int
    log_sigma: float | None  # log |σ|, None when unknown or no direction
    log_duration: float  # log of the duration, at least a minute
    hour: float


_LOG_SIZE_SPREAD = math.log(4.0)
_LOG_DURATION_SPREAD = math.log(10.0)


def shape(e: EpisodeFact, tz: tzinfo) -> Shape:
    """The shape of an episode, for `score`."""
    d = direction(e.peak_sigma)
    sigma = abs(e.peak_sigma) if e.peak_sigma is not None and d else None
    return Shape(
        e.location,
        e.metric,
        e.kind,
        d,
        math.log(sigma) if sigma else None,
        math.log(max(e.duration_s, 60.0)),
        hour_of_day(e.started, tz),
    )


def score(new: Shape, past: Shape) -> float:
    """`resemblance(...).score` from precomputed shapes, without the reasons: what a search
    over every past episode computes (the same weights, in the same order)."""
    total = WEIGHTS["location"] * (new.location == past.location)
    total += WEIGHTS["metric"] * (new.metric == past.metric)
    same_way = bool(new.direction) and new.direction == past.direction
    total += WEIGHTS["direction"] * same_way
    size = 0.0
    if same_way and new.log_sigma is not None and past.log_sigma is not None:
        size = max(0.0, 1.0 - abs(new.log_sigma - past.log_sigma) / _LOG_SIZE_SPREAD)
    total += WEIGHTS["size"] * size
    duration = max(0.0, 1.0 - abs(new.log_duration - past.log_duration) / _LOG_DURATION_SPREAD)
    total += WEIGHTS["duration"] * duration
    total += WEIGHTS["time_of_day"] * max(0.0, 1.0 - _hours_apart(new.hour, past.hour) / 6.0)
    if new.kind != past.kind:
        total *= 0.5
    return round(total, 3)


def resemblance(new: EpisodeFact, past: EpisodeFact, tz: tzinfo) -> Resemblance:
    """How much `past` looks like `new`: same place and metric, same direction, a size in σ
    and a duration within a factor of a few, around the same time of day."""
    parts: dict[str, float] = {}
    reasons: list[str] = []
    parts["location"] = 1.0 if new.location == past.location else 0.0
    if parts["location"]:
        reasons.append(f"same location ({past.location})")
    parts["metric"] = 1.0 if new.metric == past.metric else 0.0
    if parts["metric"]:
        reasons.append(f"same metric ({past.metric})")
    d_new, d_past = direction(new.peak_sigma), direction(past.peak_sigma)
    parts["direction"] = 1.0 if d_new and d_new == d_past else 0.0
    if parts["direction"]:
        reasons.append("a rise" if d_new > 0 else "a drop")
    if new.peak_sigma is not None and past.peak_sigma is not None and parts["direction"]:
        parts["size"] = _ratio_closeness(abs(new.peak_sigma), abs(past.peak_sigma), 4.0)
        if parts["size"] >= 0.5:
            reasons.append(f"{abs(past.peak_sigma):.1f}σ then, {abs(new.peak_sigma):.1f}σ now")
    else:
        parts["size"] = 0.0
    parts["duration"] = _ratio_closeness(
        max(new.duration_s, 60.0), max(past.duration_s, 60.0), 10.0
    )
    if parts["duration"] >= 0.5:
        reasons.append("a similar duration")
    apart = _hours_apart(hour_of_day(new.started, tz), hour_of_day(past.started, tz))
    parts["time_of_day"] = max(0.0, 1.0 - apart / 6.0)
    if apart <= 2:
        reasons.append("around the same time of day")
    score = sum(WEIGHTS[k] * v for k, v in parts.items())
    if new.kind != past.kind:  # a broken sensor does not explain the world, nor the reverse
        score *= 0.5
    return Resemblance(round(score, 3), tuple(reasons))
