"""The rule state machine, pure: inactive → pending → firing → resolved, per rule and series.

Each step function takes a rule, the mutable `State` of one (rule, series) pair and what just
arrived, and returns the `Change` it caused (fired or resolved) or None. No I/O, no clock: the
time is always the observation's. The live evaluator and the backtest run these same functions.

Resolution: the agent sees each edge series as 5-minute aggregates (count/min/max/last over the
window) plus every flagged reading at once, and bulk imports as points. A threshold is crossed
within a window when the window's min (for "below") or max (for "above") is past it, so a short
dip inside an aggregate is caught; a hold counts only windows wholly past the line (or a
window that ends past it, from its end). A gap longer than `MAX_GAP_S` between observations
restarts a hold: a silent sensor neither fires nor resolves a threshold rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from agent_bruno.alerts.model import SEVERITY_RANK, EpisodeRule, RateRule, ThresholdRule

MAX_GAP_S = 660.0  # two 5-minute windows and some slack
Status = Literal["inactive", "pending", "firing"]


@dataclass(slots=True)  # not frozen: built per bucket in backtests, frozen init is 3x slower
class Observation:
    """Values of one series over [start, end]: an aggregate, or a point when start == end."""

    start: float
    end: float
    min: float
    max: float
    last: float

    @classmethod
    def point(cls, ts: float, value: float) -> Observation:
        """One reading."""
        return cls(ts, ts, value, value, value)


@dataclass(frozen=True, slots=True)
class EpisodeEvent:
    """An anomaly episode opening, updating or closing (the signal issue's model, or derived
    from flagged readings until reporters send episodes)."""

    episode_id: str
    phase: Literal["open", "update", "close"]
    ts: float
    severity: Literal["warning", "critical"]
    kind: Literal["sensor_fault", "process_anomaly", "unknown"]
    value: float | None
    reason: str


@dataclass(slots=True)
class State:
    """Where one (rule, series) pair stands."""

    status: Status = "inactive"
    since: float = 0.0  # when the breach began (pending or firing)
    fired_at: float = 0.0
    last_ts: float = -math.inf  # end of the newest observation evaluated
    value: float | None = None  # the newest value seen
    peak: float | None = None  # the most extreme value while firing
    window: list[tuple[float, float, float]] = field(default_factory=list)  # rate: end, min, max
    episode: str | None = None  # the open episode that fired this alert


@dataclass(frozen=True, slots=True)
class Change:
    """A rule fired or resolved for one series."""

    status: Literal["firing", "resolved"]
    at: float
    since: float
    value: float | None
    peak: float | None = None
    reason: str = ""
    severity: str | None = None  # an episode's own severity; None: the rule's


def _fire(st: State, at: float, value: float | None, reason: str = "") -> Change:
    st.status = "firing"
    st.fired_at = at
    st.peak = value
    return Change("firing", at, st.since, value, value, reason)


def _resolve(st: State, at: float, value: float | None, reason: str = "") -> Change:
    change = Change("resolved", at, st.since, value, st.peak, reason)
    st.status = "inactive"
    st.peak = None
    st.episode = None
    return change


def step_threshold(rule: ThresholdRule, st: State, obs: Observation) -> Change | None:
    """Advance a threshold rule by one observation of its series."""
    if obs.end <= st.last_ts:
        return None  # older than, or the same as, what was already evaluated
    gap = obs.start - st.last_ts
    st.last_ts = obs.end
    st.value = obs.last
    line = rule.value
    if rule.op == "below":
        worst, best = obs.min, obs.max
        touched, whole, at_end = worst < line, best < line, obs.last < line
    else:
        worst, best = obs.max, obs.min
        touched, whole, at_end = worst > line, best > line, obs.last > line
    if st.status == "firing":
        if st.peak is None or (worst < st.peak if rule.op == "below" else worst > st.peak):
            st.peak = worst
        back = rule.resolve_at  # the whole window must be back past it
        cleared = worst >= back if rule.op == "below" else worst <= back
        return _resolve(st, obs.end, obs.last) if cleared else None
    if not touched:
        st.status = "inactive"
        return None
    if st.status == "pending" and gap <= MAX_GAP_S and whole:
        pass  # the breach goes on
    elif whole:
        st.status, st.since = "pending", obs.start
    elif at_end:
        st.status, st.since = "pending", obs.end  # began somewhere inside the window
    elif rule.hold_s == 0:
        st.since = obs.end  # a crossing inside the window, caught from its min/max
        return _fire(st, obs.end, worst)
    else:
        st.status = "inactive"  # a dip shorter than the window, so shorter than the hold
        return None
    if obs.end - st.since >= rule.hold_s:
        return _fire(st, obs.end, worst)
    return None


Window = list[tuple[float, float, float]]  # (end, min, max) of recent observations


def push_window(window: Window, obs: Observation, keep_s: float) -> Window:
    """The window after `obs`: entries ending within `keep_s` of it, then `obs` itself."""
    horizon = obs.end - keep_s
    kept = [w for w in window if w[0] > horizon]
    kept.append((obs.end, obs.min, obs.max))
    return kept


def rate_change(
    window: Window, obs: Observation, window_s: float, direction: Literal["rise", "fall"]
) -> float:
    """The largest rise (or fall) from the observations before `obs` that end within
    `window_s` of it, to `obs` (`window` may already hold `obs` itself: it is skipped)."""
    horizon = obs.end - window_s
    if direction == "rise":
        lows = [w[1] for w in window if horizon < w[0] <= obs.start]
        return obs.max - min(lows) if lows else 0.0
    highs = [w[2] for w in window if horizon < w[0] <= obs.start]
    return max(highs) - obs.min if highs else 0.0


def step_rate_change(rule: RateRule, st: State, change: float, obs: Observation) -> Change | None:
    """Advance a rate rule given the change measured at `obs` (shared by rules of a series)."""
    if obs.end <= st.last_ts:
        return None
    st.last_ts = obs.end
    st.value = obs.last
    if st.status == "firing":
        if st.peak is None or change > st.peak:
            st.peak = change
        if change < rule.delta - rule.hysteresis:
            return _resolve(st, obs.end, change)
        return None
    if change > rule.delta:
        st.since = obs.end
        return _fire(st, obs.end, change)
    return None


def step_rate(rule: RateRule, st: State, obs: Observation) -> Change | None:
    """Advance a rate-of-change rule by one observation of its series (window in `st`).

    On 5-minute aggregates the change is measured from the windows that overlap the last
    `window_s`, so it may span up to `window_s` plus one window.
    """
    if obs.end <= st.last_ts:
        return None
    change = rate_change(st.window, obs, rule.window_s, rule.direction)
    st.window = push_window(st.window, obs, rule.window_s)
    return step_rate_change(rule, st, change, obs)


def step_condition(st: State, active: bool, now: float, value: float | None) -> Change | None:
    """Advance a yes/no condition (node offline or unhealthy, sensor silent) at time `now`."""
    st.value = value
    if active and st.status != "firing":
        st.since = now
        return _fire(st, now, value)
    if not active and st.status == "firing":
        return _resolve(st, now, value)
    return None


def episode_matches(rule: EpisodeRule, ep: EpisodeEvent) -> bool:
    """Whether an episode is of the rule's kind and severe enough."""
    if SEVERITY_RANK[ep.severity] < SEVERITY_RANK[rule.min_severity]:
        return False
    return rule.episode_kind == "any" or rule.episode_kind == ep.kind


def step_episode(rule: EpisodeRule, st: State, ep: EpisodeEvent) -> Change | None:
    """Advance an episode rule: an episode severe enough fires, its close resolves."""
    if ep.ts < st.last_ts:
        return None
    st.last_ts = ep.ts
    st.value = ep.value
    if ep.phase == "close":
        if st.status == "firing" and st.episode == ep.episode_id:
            return _resolve(st, ep.ts, ep.value, ep.reason)
        return None
    if st.status != "firing" and episode_matches(rule, ep):
        st.since = ep.ts
        st.episode = ep.episode_id
        change = _fire(st, ep.ts, ep.value, ep.reason)
        return Change(
            change.status,
            change.at,
            change.since,
            change.value,
            change.peak,
            change.reason,
            ep.severity,
        )
    return None
