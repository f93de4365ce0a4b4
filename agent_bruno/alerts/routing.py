"""From alert changes to notifications, as Alertmanager does: group, wait, dedup, mute.

Alerts are grouped by subscription and location. A new group waits `group_wait_s` (critical
alerts do not wait) so that alerts arriving together go out together; after that a group is
looked at every `group_interval_s` and notified only when what it would send differs from what
it last sent (dedup by fingerprint and status), or, unchanged but still firing, once every
`repeat_interval_s`. Muted alerts (a snoozed subscription, a silence of its owner, or a silence
alert of a node that is itself offline: inhibition) are left out. A resolve is sent only for an
alert whose firing was sent, so it can never arrive first. An alert resolved inside its group
wait is not sent at all, as in Alertmanager; but one that fired and resolved before a flush told
of it while, by its own times, it was critical or firing longer than the group wait (it was
evaluated late: a replay after a restart, a backlog) is sent as firing and then as resolved.

Pure: the clock is passed in; `GroupState` is what gets persisted with each notification.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from agent_bruno.alerts.evaluator import AlertChange
from agent_bruno.alerts.model import SilentRule, describe
from agent_bruno.alerts.subscription import Subscription


@dataclass(frozen=True, slots=True)
class Silence:
    """Mute an owner's alerts whose labels match every matcher, from `starts` to `ends`."""

    id: str
    owner: str
    matchers: dict[str, str]
    starts: float
    ends: float
    comment: str = ""

    def mutes(self, owner: str, labels: Mapping[str, str], now: float) -> bool:
        """Whether this silence mutes an alert of `owner` with `labels` at `now`."""
        return (
            owner == self.owner
            and self.starts <= now < self.ends
            and all(labels.get(k) == v for k, v in self.matchers.items())
        )


@dataclass(slots=True)
class AlertView:
    """One alert as notifications show it."""

    fingerprint: str
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    starts_at: float
    ends_at: float | None
    value: float | None
    peak: float | None
    reason: str
    severity: str

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AlertView:
        """Back from `as_json`."""
        return cls(**data)


@dataclass(slots=True)
class GroupState:
    """What a group last sent, persisted with each of its notifications."""

    key: str
    sub_id: str
    seq: int = 0
    last_sent: float | None = None
    sent: dict[str, AlertView] = field(default_factory=dict)  # fingerprint → as last sent


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to one destination about one group."""

    id: str
    sub_id: str
    owner: str
    group_key: str
    seq: int
    created_at: float
    status: Literal["firing", "resolved"]
    severity: str
    title: str
    name: str
    rule: str
    alerts: tuple[AlertView, ...]
    repeat: bool = False

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form, as stored in the outbox."""
        data = asdict(self)
        data["alerts"] = [a.as_json() for a in self.alerts]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notification:
        """Back from `as_json`."""
        fields = dict(data)
        fields["alerts"] = tuple(AlertView.from_json(a) for a in data["alerts"])
        return cls(**fields)


@dataclass(slots=True)
class _Group:
    state: GroupState
    alerts: dict[str, AlertView] = field(default_factory=dict)  # current: firing or resolved
    next_flush: float | None = None
    # Fired and resolved before any flush told of it, yet firing longer than the group wait
    # (or critical): its firing is sent first, then its resolve, as if seen live.
    owed: dict[str, AlertView] = field(default_factory=dict)


_RANK = {"info": 0, "warning": 1, "critical": 2}
# Alertmanager resolves an alert that is not re-sent before its endsAt: re-send this often.
ALERTMANAGER_RESEND_S = 60.0


def _repeat_s(sub: Subscription) -> float:
    if sub.destination.kind == "alertmanager":
        return ALERTMANAGER_RESEND_S
    return sub.timing.repeat_interval_s


def _interval_s(sub: Subscription) -> float:
    return min(sub.timing.group_interval_s, _repeat_s(sub))


def group_key(sub_id: str, labels: Mapping[str, str]) -> str:
    """Groups are per subscription and location."""
    return f"{sub_id}/{labels.get('location', '')}"


def notification_id(key: str, seq: int) -> str:
    """A stable id: the same group and sequence number always give the same id."""
    return hashlib.sha256(f"{key}#{seq}".encode()).hexdigest()[:24]


class Dispatcher:
    """Groups, timers and what each group last sent."""

    def __init__(self, lookup: Callable[[str], Subscription | None]) -> None:
        self._lookup = lookup
        self._groups: dict[str, _Group] = {}

    def restore(self, state: GroupState, firing: Iterable[AlertView], now: float) -> None:
        """Rebuild a group after a restart: its firing alerts and what it had sent; alerts sent
        as firing that are no longer firing are resolved at the next flush."""
        group = _Group(state)
        for view in firing:
            group.alerts[view.fingerprint] = view
        for fp, sent in state.sent.items():
            if fp not in group.alerts and sent.status == "firing":
                group.alerts[fp] = AlertView(
                    fp,
                    "resolved",
                    sent.labels,
                    sent.starts_at,
                    now,
                    sent.value,
                    sent.peak,
                    "resolved while the agent was down",
                    sent.severity,
                )
        group.next_flush = now
        self._groups[state.key] = group

    def change(self, ac: AlertChange, now: float) -> None:
        """Record that an alert fired or resolved; schedule its group."""
        sub = ac.sub
        key = group_key(sub.id, ac.labels)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(GroupState(key, sub.id))
        c = ac.change
        severity = c.severity or sub.rule.severity
        resolved = c.status == "resolved"
        timing = sub.timing
        before = group.alerts.get(ac.fingerprint)
        if (
            resolved
            and before is not None
            and before.status == "firing"
            and ac.fingerprint not in group.state.sent
            and (before.severity == "critical" or c.at - before.starts_at >= timing.group_wait_s)
        ):
            # Evaluated late (a replay after a restart, a backlog of writes): the data says it
            # fired for longer than the group wait, so it is told, not dropped.
            group.owed[ac.fingerprint] = before
        elif not resolved:
            group.owed.pop(ac.fingerprint, None)  # firing again: told as it is now
        group.alerts[ac.fingerprint] = AlertView(
            ac.fingerprint,
            c.status,
            ac.labels,
            c.since,
            c.at if resolved else None,
            c.value,
            c.peak,
            c.reason,
            severity,
        )
        if group.state.last_sent is None and not group.state.sent:
            wait = 0.0 if severity == "critical" and not resolved else timing.group_wait_s
            first = now + wait
            group.next_flush = first if group.next_flush is None else min(group.next_flush, first)
        elif severity == "critical" and not resolved:
            group.next_flush = now  # a new critical alert does not wait for the interval
        elif group.next_flush is None:
            last = group.state.last_sent or now
            group.next_flush = max(now, last + _interval_s(sub))

    def next_due(self) -> float | None:
        """When the earliest group is due, if any."""
        times = [g.next_flush for g in self._groups.values() if g.next_flush is not None]
        return min(times) if times else None

    def next_change_due(self) -> float | None:
        """When the earliest group with something it has not sent (an alert firing or resolved
        since its last notification, or one owed) is due, if any; repeats are left out."""
        times = [
            g.next_flush
            for g in self._groups.values()
            if g.next_flush is not None and (g.owed or _unsent(g))
        ]
        return min(times) if times else None

    def due(
        self, now: float, silences: Iterable[Silence], offline: frozenset[str]
    ) -> list[tuple[Notification, GroupState]]:
        """The notifications due at `now`, each with its group's state after sending."""
        silences = list(silences)
        out: list[tuple[Notification, GroupState]] = []
        for key in list(self._groups):
            group = self._groups[key]
            if group.next_flush is None or group.next_flush > now:
                continue
            sub = self._lookup(group.state.sub_id)
            if sub is None:  # deleted: nothing more is sent about it
                del self._groups[key]
                continue
            resolves: dict[str, AlertView] = {}
            if group.owed:  # first the firing of what resolved before it was told
                resolves = {fp: group.alerts[fp] for fp in group.owed if fp in group.alerts}
                group.alerts.update(group.owed)
                group.owed = {}
            note = self._flush(group, sub, now, silences, offline)
            if note is not None:
                out.append((note, _copy_state(group.state)))
            if resolves:  # then, at once, their resolves (same lane: in this order)
                group.alerts.update(resolves)
                note = self._flush(group, sub, now, silences, offline)
                if note is not None:
                    out.append((note, _copy_state(group.state)))
            if not group.alerts:
                del self._groups[key]
        return out

    def _muted(
        self,
        sub: Subscription,
        view: AlertView,
        now: float,
        silences: list[Silence],
        offline: frozenset[str],
    ) -> bool:
        if sub.snoozed(now):
            return True
        if isinstance(sub.rule, SilentRule) and view.labels.get("node") in offline:
            return True  # inhibited: the node is offline, so of course its sensors are silent
        labels = {**view.labels, "alertname": sub.name, "subscription": sub.id}
        return any(s.mutes(sub.owner, labels, now) for s in silences)

    def _flush(
        self,
        group: _Group,
        sub: Subscription,
        now: float,
        silences: list[Silence],
        offline: frozenset[str],
    ) -> Notification | None:
        st = group.state
        send: dict[str, AlertView] = {}
        kept: dict[str, AlertView] = {}  # sent as firing, muted now: its resolve is still owed
        for fp, view in group.alerts.items():
            if view.status == "resolved":
                if fp in st.sent:
                    send[fp] = view  # a resolve only for a firing that was sent
            elif not self._muted(sub, view, now, silences, offline):
                send[fp] = view
            elif fp in st.sent:
                kept[fp] = st.sent[fp]
        for fp in [fp for fp, v in group.alerts.items() if v.status == "resolved"]:
            del group.alerts[fp]
            if fp not in send:
                st.sent.pop(fp, None)
        firing = {fp for fp, v in send.items() if v.status == "firing"}
        resolved = len(send) - len(firing)
        changed = bool(resolved) or bool(firing - st.sent.keys())
        repeat = (
            not changed
            and bool(firing)
            and st.last_sent is not None
            and now - st.last_sent >= _repeat_s(sub)
        )
        group.next_flush = now + _interval_s(sub) if group.alerts else None
        if not (changed or repeat):
            return None
        st.seq += 1
        st.last_sent = now
        st.sent = {**kept, **{fp: send[fp] for fp in firing}}
        views = tuple(sorted(send.values(), key=lambda v: (v.status != "firing", v.starts_at)))
        status: Literal["firing", "resolved"] = "firing" if firing else "resolved"
        severity = max((v.severity for v in views), key=lambda s: _RANK.get(s, 0))
        return Notification(
            id=notification_id(st.key, st.seq),
            sub_id=sub.id,
            owner=sub.owner,
            group_key=st.key,
            seq=st.seq,
            created_at=now,
            status=status,
            severity=severity,
            title=_title(sub, views, status),
            name=sub.name,
            rule=describe(sub.rule),
            alerts=views,
            repeat=repeat,
        )


def _unsent(group: _Group) -> bool:
    sent = group.state.sent
    return any(view.status == "resolved" or fp not in sent for fp, view in group.alerts.items())


def _copy_state(st: GroupState) -> GroupState:
    return GroupState(st.key, st.sub_id, st.seq, st.last_sent, dict(st.sent))


def _title(sub: Subscription, views: tuple[AlertView, ...], status: str) -> str:
    """A one-line headline: "[FIRING:2] humidity below 30% in warehouse-b"."""
    n = sum(1 for v in views if v.status == "firing") if status == "firing" else len(views)
    where = views[0].labels.get("location", "") if views else ""
    place = f" in {where}" if where and where not in sub.name else ""
    return f"[{status.upper()}:{n}] {sub.name}{place}"
