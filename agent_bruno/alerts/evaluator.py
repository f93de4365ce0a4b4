"""Live evaluation: active subscriptions indexed by what they watch, states per (rule, series).

Cheap by construction, because it runs for every ingested event: an observation is offered
only to the rules of its metric whose scope can match (an index by metric, then by the most
specific scope field), and an inactive threshold rule costs one comparison. Node, silence and
episode-timeout rules are evaluated on `tick`, once a second or so, not per event.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple

from agent_bruno.alerts.engine import (
    Change,
    EpisodeEvent,
    Observation,
    State,
    Window,
    push_window,
    rate_change,
    step_condition,
    step_episode,
    step_rate_change,
    step_threshold,
)
from agent_bruno.alerts.model import (
    EpisodeRule,
    NodeRule,
    RateRule,
    SilentRule,
    ThresholdRule,
)
from agent_bruno.alerts.rule_index import Bucket, RateDir, RuleIndex, scope_key
from agent_bruno.alerts.subscription import Subscription
from agent_bruno.health import Assessment, Beat, Thresholds, assess


class SeriesLabels(NamedTuple):
    """The identity of one series (a tuple: hashed in C, it keys every per-series map)."""

    cluster: str
    node: str
    location: str
    sensor: str
    metric: str
    unit: str


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """A node's latest heartbeat, as the evaluator needs it."""

    node: str
    cluster: str
    location: str
    beat: Beat


@dataclass(frozen=True, slots=True)
class AlertChange:
    """A subscription's alert for one series (or node) fired or resolved."""

    sub: Subscription
    fingerprint: str
    labels: dict[str, str]
    change: Change
    state: State  # the alert's state after the change (persisted)


def fingerprint(sub_id: str, labels: Mapping[str, str]) -> str:
    """A stable id of one alert: the subscription and the labels of what it is about."""
    text = sub_id + "\x00" + "\x00".join(f"{k}={labels[k]}" for k in sorted(labels))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def series_labels(s: SeriesLabels) -> dict[str, str]:
    """Labels of a series alert."""
    return {
        "cluster": s.cluster,
        "location": s.location,
        "node": s.node,
        "sensor": s.sensor,
        "metric": s.metric,
        "unit": s.unit,
    }


def node_labels(f: NodeFacts) -> dict[str, str]:
    """Labels of a node alert."""
    return {"cluster": f.cluster, "location": f.location, "node": f.node}


@dataclass(slots=True)
class Entry:
    """One alert: its fingerprint, labels and state."""

    fingerprint: str
    labels: dict[str, str]
    state: State


# An alert is keyed by its subscription and what it is about: a series, or a node's name.
AlertKey = tuple[str, SeriesLabels | str]


class Evaluator:
    """Every active subscription and the state of each of its alerts."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self._series_rules: dict[str, RuleIndex] = {}
        self._any_metric: RuleIndex = RuleIndex()  # episode rules without a metric
        self._timed: list[Subscription] = []  # node and silent rules
        self.alerts: dict[AlertKey, Entry] = {}
        self.last_seen: dict[SeriesLabels, float] = {}
        self.nodes: dict[str, NodeFacts] = {}
        self.offline: frozenset[str] = frozenset()
        self._subs: dict[str, Subscription] = {}
        # Threshold rules with a pending or firing alert on a series: evaluated on every
        # observation of it (to resolve), crossed or not.
        self._tracked: dict[SeriesLabels, dict[str, Subscription]] = {}
        # Recent (end, min, max) per series, for rate rules: one window shared by all of them.
        self._windows: dict[SeriesLabels, Window] = {}
        self._keep: dict[str, float] = {}  # metric → the longest rate window

    def set_subscriptions(self, subs: Iterable[Subscription]) -> None:
        """Index the active subscriptions (paused ones are not evaluated; states are kept)."""
        subs_list = list(subs)
        subs = subs_list
        self._series_rules = {}
        self._any_metric = RuleIndex()
        self._timed = []
        known = set()
        for sub in subs:
            known.add(sub.id)
            if sub.paused:
                continue
            rule = sub.rule
            if isinstance(rule, NodeRule | SilentRule):
                self._timed.append(sub)
                continue
            metric = getattr(rule, "metric", None)
            if metric is None:
                index = self._any_metric
            else:
                index = self._series_rules.setdefault(metric, RuleIndex())
            index.by_scope.setdefault(scope_key(rule), Bucket()).add(sub)
        for index in (self._any_metric, *self._series_rules.values()):
            for bucket in index.by_scope.values():
                bucket.seal()
        longest = {m: i.longest_window() for m, i in self._series_rules.items()}
        self._keep = {m: w for m, w in longest.items() if w}
        for key in [k for k in self.alerts if k[0] not in known]:
            del self.alerts[key]  # the subscription was deleted
        self._subs = {s.id: s for s in subs_list if not s.paused}
        self._tracked = {}
        for sub_id, about in self.alerts:
            self._track(sub_id, about)

    def restore(self, sub_id: str, labels: dict[str, str], state: State) -> None:
        """Put back a state persisted before a restart (firing alerts stay firing)."""
        about: SeriesLabels | str
        if "sensor" in labels:
            about = SeriesLabels(
                labels["cluster"],
                labels["node"],
                labels["location"],
                labels["sensor"],
                labels["metric"],
                labels["unit"],
            )
        else:
            about = labels["node"]
        self.alerts[(sub_id, about)] = Entry(fingerprint(sub_id, labels), labels, state)
        self._track(sub_id, about)

    def _track(self, sub_id: str, about: SeriesLabels | str) -> None:
        """Evaluate a threshold or rate rule on every observation of a series it has an alert on."""
        live = self._subs.get(sub_id)
        if (
            live is not None
            and isinstance(about, SeriesLabels)
            and isinstance(live.rule, ThresholdRule | RateRule)
        ):
            self._tracked.setdefault(about, {})[sub_id] = live

    def _entry(self, sub: Subscription, about: SeriesLabels | str, labels: dict[str, str]) -> Entry:
        key = (sub.id, about)
        entry = self.alerts.get(key)
        if entry is None:
            entry = self.alerts[key] = Entry(fingerprint(sub.id, labels), labels, State())
        return entry

    def observe(self, s: SeriesLabels, obs: Observation) -> list[AlertChange]:
        """Evaluate one observation of a series against the rules that watch it."""
        seen = self.last_seen.get(s)
        if seen is None or obs.end > seen:
            self.last_seen[s] = obs.end
        index = self._series_rules.get(s.metric)
        if index is None:
            return []
        out: list[AlertChange] = []
        tracked = self._tracked.get(s)
        done: set[str] | None = set() if tracked else None
        keep = self._keep.get(s.metric, 0.0)
        window: Window = []
        changes: dict[tuple[RateDir, float], float] = {}
        fresh = True
        if keep:
            window = self._windows.get(s, [])
            fresh = not window or obs.end > window[-1][0]
        for bucket in index.buckets(s):
            for sub in bucket.crossed(obs.min, obs.max):
                if done is not None:
                    done.add(sub.id)
                self._step(sub, s, obs, out, 0.0)
            if not fresh:
                continue
            for group, rules in bucket.rates.items():
                change = changes.get(group)
                if change is None:
                    change = changes[group] = rate_change(window, obs, group[1], group[0])
                for _, sub in rules[: bisect_left(bucket.rate_deltas[group], change)]:
                    if done is not None:
                        done.add(sub.id)
                    self._step(sub, s, obs, out, change)
        if tracked:
            for sub_id, sub in list(tracked.items()):
                if done is not None and sub_id in done:
                    continue
                rule = sub.rule
                change = 0.0
                if isinstance(rule, RateRule):
                    if not fresh:
                        continue
                    change = rate_change(window, obs, rule.window_s, rule.direction)
                self._step(sub, s, obs, out, change)
        if keep and fresh:
            self._windows[s] = push_window(window, obs, keep)
        return out

    def _step(
        self,
        sub: Subscription,
        s: SeriesLabels,
        obs: Observation,
        out: list[AlertChange],
        change: float,
    ) -> None:
        rule = sub.rule
        if not rule.scope.matches(s.cluster, s.location, s.node, s.sensor):
            return
        key = (sub.id, s)
        entry = self.alerts.get(key) or self._entry(sub, s, series_labels(s))
        st = entry.state
        if isinstance(rule, ThresholdRule):
            result = step_threshold(rule, st, obs)
        elif isinstance(rule, RateRule):
            result = step_rate_change(rule, st, change, obs)
        else:
            return
        if st.status == "inactive":
            if result is None:
                del self.alerts[key]  # nothing to remember
            tracked = self._tracked.get(s)
            if tracked is not None:
                tracked.pop(sub.id, None)
                if not tracked:
                    del self._tracked[s]
        else:
            self._tracked.setdefault(s, {})[sub.id] = sub
        if result is not None:
            out.append(AlertChange(sub, entry.fingerprint, entry.labels, result, entry.state))

    def observe_episode(self, s: SeriesLabels, ep: EpisodeEvent) -> list[AlertChange]:
        """Evaluate an episode event of a series against the episode rules."""
        out: list[AlertChange] = []
        pools = [self._any_metric]
        if s.metric in self._series_rules:
            pools.append(self._series_rules[s.metric])
        for pool in pools:
            for sub in pool.candidates(s):
                rule = sub.rule
                if not isinstance(rule, EpisodeRule):
                    continue
                if not rule.scope.matches(s.cluster, s.location, s.node, s.sensor):
                    continue
                entry = self._entry(sub, s, series_labels(s))
                change = step_episode(rule, entry.state, ep)
                if change is not None:
                    out.append(
                        AlertChange(sub, entry.fingerprint, entry.labels, change, entry.state)
                    )
        return out

    def heartbeat(self, facts: NodeFacts) -> None:
        """Remember a node's newest heartbeat."""
        known = self.nodes.get(facts.node)
        if known is None or facts.beat.last_seen >= known.beat.last_seen:
            self.nodes[facts.node] = facts

    def tick(self, now: float) -> list[AlertChange]:
        """Evaluate node and silence rules at `now`."""
        assessments: dict[str, Assessment] = {
            n: assess(f.beat, now, self.thresholds) for n, f in self.nodes.items()
        }
        self.offline = frozenset(n for n, a in assessments.items() if a.status == "offline")
        out: list[AlertChange] = []
        for sub in self._timed:
            rule = sub.rule
            if isinstance(rule, NodeRule):
                out.extend(self._tick_node(sub, rule, assessments, now))
            elif isinstance(rule, SilentRule):
                out.extend(self._tick_silent(sub, rule, now))
        return out

    def _tick_node(
        self,
        sub: Subscription,
        rule: NodeRule,
        assessments: Mapping[str, Assessment],
        now: float,
    ) -> list[AlertChange]:
        out = []
        for name, a in assessments.items():
            facts = self.nodes[name]
            if not rule.scope.matches(facts.cluster, facts.location, name):
                continue
            offline = rule.condition == "offline"
            active = a.status == "offline" if offline else a.status != "healthy"
            if not active and (sub.id, name) not in self.alerts:
                continue
            entry = self._entry(sub, name, node_labels(facts))
            change = step_condition(entry.state, active, now, None)
            if change is not None:
                if active:
                    reason = "; ".join(a.reasons)
                elif rule.condition == "offline":
                    reason = "heartbeats are back"
                else:
                    reason = "healthy again"
                out.append(
                    AlertChange(
                        sub,
                        entry.fingerprint,
                        entry.labels,
                        _with_reason(change, reason),
                        entry.state,
                    )
                )
        return out

    def _tick_silent(self, sub: Subscription, rule: SilentRule, now: float) -> list[AlertChange]:
        out = []
        for s, seen in self.last_seen.items():
            if rule.metric is not None and s.metric != rule.metric:
                continue
            if not rule.scope.matches(s.cluster, s.location, s.node, s.sensor):
                continue
            active = now - seen > rule.after_s
            if not active and (sub.id, s) not in self.alerts:
                continue
            entry = self._entry(sub, s, series_labels(s))
            change = step_condition(entry.state, active, now, now - seen)
            if change is not None:
                reason = (
                    f"nothing received for {now - seen:.0f} s"
                    if active
                    else "data is arriving again"
                )
                out.append(
                    AlertChange(
                        sub,
                        entry.fingerprint,
                        entry.labels,
                        _with_reason(change, reason),
                        entry.state,
                    )
                )
        return out

    def firing(self) -> list[tuple[str, Entry]]:
        """Every firing alert with its subscription id."""
        return [(k[0], e) for k, e in self.alerts.items() if e.state.status == "firing"]


def _with_reason(change: Change, reason: str) -> Change:
    return replace(change, reason=reason)


def _breaches(rule: ThresholdRule, obs: Observation) -> bool:
    """Whether an observation crosses the rule's line anywhere."""
    return obs.min < rule.value if rule.op == "below" else obs.max > rule.value
