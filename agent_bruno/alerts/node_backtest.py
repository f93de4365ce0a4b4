"""Node rules over history, pure: "would pi-node-3 have gone offline (or unhealthy) last week?"

The agent keeps only each node's latest heartbeat (the `nodes` table), not their history. What
it does keep over time is every series the node sent, as 5-minute buckets, among them the
node's own health series (`cpu_percent`, `memory_percent`, `disk_percent`, `soc_temp_c`,
`load_1m`, from the reporter's `node` source). A backtest replays those through the live
engine: each bucket becomes the heartbeat a reporter sends at its end (its health values the
latest of each metric, carried forward) and is judged by `health.assess`, the function live
evaluation uses, with `engine.step_condition` turning the verdicts into firings.

- offline: where the node's data has a gap longer than `offline_after_intervals` × its
  heartbeat interval, from the last reading before it plus that limit, until data resumes.
  This is data time: an outage the reporter buffered through and sent later leaves no gap and
  is not seen, while a node that was down (power, crash) is.
- unhealthy: offline as above, or a health value past its limit at a bucket's end. Outbox
  growth and drops and the clock offset are not kept over time: those reasons cannot be
  replayed, and the result says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent_bruno.alerts.backtest import BacktestResult, Firing
from agent_bruno.alerts.engine import State, step_condition
from agent_bruno.alerts.model import NodeRule, duration_words
from agent_bruno.health import Beat, Thresholds, assess

HEARTBEAT_S = 300.0  # a node's heartbeat interval when none is stored


@dataclass(frozen=True, slots=True)
class NodeHistory:
    """One node's stored data: per 5-minute bucket (start, time of its last reading, the
    health values in it), oldest first, and the heartbeat interval it reports."""

    node: str
    interval_s: float
    buckets: Sequence[tuple[float, float, dict[str, float]]]


def _run(rule: NodeRule, h: NodeHistory, end: float, t: Thresholds) -> tuple[list[Firing], float]:
    """Firings of one node, and the longest gap in its data."""
    st = State()
    out: list[Firing] = []
    opened: list[float] = []
    limit = t.offline_after_intervals * h.interval_s

    def at(now: float, beat: Beat) -> None:
        a = assess(beat, now, t)
        active = a.status == "offline" if rule.condition == "offline" else a.status != "healthy"
        change = step_condition(st, active, now, None)
        if change is None:
            return
        if change.status == "firing":
            opened.append(change.since)
        elif opened:
            out.append(Firing(h.node, opened.pop(), change.at))

    health: dict[str, float] = {}
    last: Beat | None = None
    longest = 0.0
    for start, data_end, values in h.buckets:
        if last is not None:
            gap = start - last.last_seen
            longest = max(longest, gap)
            if gap > limit:
                at(last.last_seen + limit + 1.0, last)  # the heartbeats would have stopped
        health.update(values)
        last = Beat(data_end, h.interval_s, dict(health), 0, 0, None)
        at(data_end, last)
    if last is not None and end - last.last_seen > limit:
        at(last.last_seen + limit + 1.0, last)
    out.extend(Firing(h.node, since, None) for since in opened)
    return out, longest


def backtest_nodes(
    rule: NodeRule,
    histories: Sequence[NodeHistory],
    start: float,
    end: float,
    thresholds: Thresholds,
) -> BacktestResult:
    """Run a node rule over each node's stored data (see the module's description)."""
    result = BacktestResult(start, end, len(histories), sum(len(h.buckets) for h in histories))
    for h in histories:
        firings, _ = _run(rule, h, end, thresholds)
        result.firings.extend(firings)
    result.firings.sort(key=lambda f: f.start)
    if not histories:
        return result
    intervals = sorted({h.interval_s for h in histories})
    every = " or ".join(duration_words(i) for i in intervals)
    result.notes.append(
        "The agent keeps only each node's latest heartbeat, so this replays the nodes' stored "
        f"5-minute data: offline where it has a gap over {thresholds.offline_after_intervals:g}"
        f" × the {every} heartbeat interval, by data time (an outage the reporter buffered "
        "through and sent later leaves no gap and is not seen)."
    )
    if rule.condition == "unhealthy":
        t = thresholds
        result.notes.append(
            f"Unhealthy: CPU over {t.cpu_percent:g}%, memory over {t.memory_percent:g}%, disk "
            f"over {t.disk_percent:g}% or SoC over {t.soc_temp_c:g} °C at a bucket's end, or "
            "offline; outbox growth or drops and clock offsets are not kept over time and "
            "are not replayed."
        )
        without_health = [h.node for h in histories if not any(v for _, _, v in h.buckets)]
        if without_health:
            result.notes.append(
                f"No health series stored for {', '.join(without_health)}: only liveness "
                "is replayed there."
            )
    return result
