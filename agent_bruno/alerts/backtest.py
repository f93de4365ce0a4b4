"""Backtests: a rule run over stored history with the live engine, hold and hysteresis included.

"This would have fired 4 times in the last 7 days, last on Tue 14:23, 35 min in all." Where the
history cannot say (shorter than the hold, coarser than the rule, nothing stored), the result
says so in `notes` rather than reporting zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from agent_bruno.alerts.engine import (
    EpisodeEvent,
    Observation,
    State,
    step_episode,
    step_rate,
    step_threshold,
)
from agent_bruno.alerts.model import (
    AnyRule,
    EpisodeRule,
    NodeRule,
    RateRule,
    SilentRule,
    ThresholdRule,
    duration_words,
)


@dataclass(frozen=True, slots=True)
class Firing:
    """One time the rule would have fired."""

    series: str
    start: float
    end: float | None  # None: still firing at the end of the range


@dataclass(frozen=True, slots=True)
class SeriesHistory:
    """Stored observations of one series, oldest first, and their resolution."""

    name: str
    step_s: float
    observations: Sequence[Observation]


@dataclass(slots=True)
class BacktestResult:
    """What the rule would have done over [start, end]."""

    start: float
    end: float
    series: int
    observations: int
    firings: list[Firing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    supported: bool = True

    @property
    def fired_s(self) -> float:
        """Seconds spent firing in all."""
        return sum((f.end if f.end is not None else self.end) - f.start for f in self.firings)

    def words(self, tz: tzinfo) -> str:
        """The result as a sentence."""
        if not self.supported:
            return " ".join(self.notes)
        span = duration_words(self.end - self.start)
        if not self.series:
            return f"No stored data matches this rule in the last {span}, so it cannot be tested."
        n = len(self.firings)
        if n == 0:
            head = f"This would not have fired in the last {span}"
        else:
            last = max(f.start for f in self.firings)
            when = datetime.fromtimestamp(last, tz).strftime("%a %H:%M")
            times = "once" if n == 1 else f"{n} times"
            head = (
                f"This would have fired {times} in the last {span}, last on {when}, "
                f"{duration_words(self.fired_s)} in all"
            )
        where = f" (over {self.series} series, {self.observations} points)"
        return head + where + "." + "".join(" " + note for note in self.notes)

    def as_json(self, tz: tzinfo) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "start": self.start,
            "end": self.end,
            "series": self.series,
            "observations": self.observations,
            "fired": len(self.firings),
            "fired_seconds": self.fired_s,
            "firings": [{"series": f.series, "start": f.start, "end": f.end} for f in self.firings],
            "notes": self.notes,
            "supported": self.supported,
            "text": self.words(tz),
        }


def _run_series(rule: ThresholdRule | RateRule, h: SeriesHistory) -> list[Firing]:
    st = State()
    out: list[Firing] = []
    opened: float | None = None
    step = step_threshold if isinstance(rule, ThresholdRule) else step_rate
    for obs in h.observations:
        change = step(rule, st, obs)  # type: ignore[arg-type]
        if change is None:
            continue
        if change.status == "firing":
            opened = change.since
        elif opened is not None:
            out.append(Firing(h.name, opened, change.at))
            opened = None
    if opened is not None:
        out.append(Firing(h.name, opened, None))
    return out


def backtest_series(
    rule: AnyRule, histories: Sequence[SeriesHistory], start: float, end: float
) -> BacktestResult:
    """Run a threshold or rate rule over each series' stored history."""
    result = BacktestResult(start, end, len(histories), sum(len(h.observations) for h in histories))
    if isinstance(rule, NodeRule | SilentRule | EpisodeRule):
        raise TypeError("backtest_series takes threshold and rate rules")
    for h in histories:
        result.firings.extend(_run_series(rule, h))
    result.firings.sort(key=lambda f: f.start)
    covered = max(
        ((h.observations[-1].end - h.observations[0].start) for h in histories if h.observations),
        default=0.0,
    )
    steps = {h.step_s for h in histories}
    if isinstance(rule, ThresholdRule) and histories and covered < rule.hold_s:
        result.notes.append(
            f"The stored history ({duration_words(covered)}) is shorter than the hold "
            f"({duration_words(rule.hold_s)}), so it cannot show whether the rule would fire."
        )
    coarse = [s for s in steps if s > 300]
    if coarse:
        result.notes.append(
            f"Part of the range only has {duration_words(max(coarse))} rollups; a short "
            "crossing there is caught from each bucket's min/max, a hold only roughly."
        )
    if isinstance(rule, RateRule) and steps and min(steps) > rule.window_s:
        result.notes.append(
            f"The data is coarser ({duration_words(min(steps))}) than the rule's window "
            f"({duration_words(rule.window_s)}): changes are measured across whole buckets."
        )
    return result


def backtest_episodes(
    rule: EpisodeRule, events: Sequence[tuple[str, EpisodeEvent]], start: float, end: float
) -> BacktestResult:
    """Run an episode rule over stored episode events (series name, event), oldest first."""
    result = BacktestResult(start, end, len({s for s, _ in events}), len(events))
    states: dict[str, State] = {}
    opened: dict[str, float] = {}
    for name, ep in events:
        st = states.setdefault(name, State())
        change = step_episode(rule, st, ep)
        if change is None:
            continue
        if change.status == "firing":
            opened[name] = change.since
        elif name in opened:
            result.firings.append(Firing(name, opened.pop(name), change.at))
    result.firings.extend(Firing(n, t, None) for n, t in opened.items())
    result.firings.sort(key=lambda f: f.start)
    return result


def backtest_silent(
    rule: SilentRule, histories: Sequence[SeriesHistory], start: float, end: float
) -> BacktestResult:
    """Gaps longer than `after_s` between stored buckets of each series."""
    result = BacktestResult(start, end, len(histories), sum(len(h.observations) for h in histories))
    for h in histories:
        previous: float | None = None
        for obs in h.observations:
            if previous is not None and obs.start - previous > rule.after_s:
                result.firings.append(Firing(h.name, previous + rule.after_s, obs.start))
            previous = obs.end
        if previous is not None and end - previous > rule.after_s:
            result.firings.append(Firing(h.name, previous + rule.after_s, None))
    result.firings.sort(key=lambda f: f.start)
    if any(h.step_s >= 300 for h in histories):
        result.notes.append("Gaps are seen at the resolution of 5-minute buckets.")
    return result
