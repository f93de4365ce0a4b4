"""Grouping, group wait, dedup, repeats, resolves, silences, snoozes and inhibition."""

from __future__ import annotations

from agent_bruno.alerts.model import SilentRule, Timing
from agent_bruno.alerts.routing import Dispatcher, GroupState, Silence
from agent_bruno.alerts.subscription import Subscription
from tests.unit.alerts.helpers import T0, change, labels, subscription


def dispatcher(*subs: Subscription) -> Dispatcher:
    by_id = {s.id: s for s in subs}
    return Dispatcher(by_id.get)


def test_group_wait_then_one_notification_for_alerts_arriving_together() -> None:
    sub = subscription()
    d = dispatcher(sub)
    d.change(change(sub, "firing", T0, labels(sensor="a")), T0)
    d.change(change(sub, "firing", T0 + 5, labels(sensor="b")), T0 + 5)
    assert d.due(T0 + 29, [], frozenset()) == []
    ((note, group),) = d.due(T0 + 30, [], frozenset())
    assert note.status == "firing"
    assert len(note.alerts) == 2
    assert note.seq == 1
    assert note.title.startswith("[FIRING:2]")
    assert set(group.sent) == {a.fingerprint for a in note.alerts}


def test_groups_are_per_location() -> None:
    sub = subscription()
    d = dispatcher(sub)
    d.change(change(sub, "firing", T0, labels(location="warehouse")), T0)
    d.change(change(sub, "firing", T0, labels(location="warehouse-b", node="pi-node-2")), T0)
    assert len(d.due(T0 + 30, [], frozenset())) == 2


def test_critical_skips_the_group_wait() -> None:
    sub = subscription()
    d = dispatcher(sub)
    d.change(change(sub, "firing", T0, severity="critical"), T0)
    ((note, _),) = d.due(T0, [], frozenset())
    assert note.severity == "critical"


def test_dedup_then_repeat_interval() -> None:
    sub = subscription(timing=Timing(group_wait_s=0, group_interval_s=300, repeat_interval_s=3600))
    d = dispatcher(sub)
    d.change(change(sub, "firing", T0), T0)
    assert len(d.due(T0, [], frozenset())) == 1
    d.change(change(sub, "firing", T0 + 10), T0 + 10)  # the same alert again: a duplicate
    assert d.due(T0 + 300, [], frozenset()) == []
    assert d.due(T0 + 3000, [], frozenset()) == []
    ((repeat, _),) = d.due(T0 + 3600, [], frozenset())
    assert repeat.repeat
    assert repeat.seq == 2


def test_resolve_after_its_firing_and_never_before() -> None:
    sub = subscription()
    d = dispatcher(sub)
    d.change(change(sub, "firing", T0), T0)
    d.change(change(sub, "resolved", T0 + 10), T0 + 10)
    # Resolved inside the group wait: nothing was sent, so nothing is sent at all.
    assert d.due(T0 + 30, [], frozenset()) == []
    d.change(change(sub, "firing", T0 + 100), T0 + 100)
    ((first, _),) = d.due(T0 + 130, [], frozenset())
    d.change(change(sub, "resolved", T0 + 200), T0 + 200)
    ((second, group),) = d.due(T0 + 430, [], frozenset())
    assert (first.status, second.status) == ("firing", "resolved")
    assert second.alerts[0].ends_at == T0 + 200
    assert group.sent == {}


def test_a_critical_alert_fired_and_resolved_in_one_evaluation_is_told_both_ways() -> None:
    """Regression: a restart's replay (or a backlog) evaluated a critical alert's firing and
    its resolve together, the resolve replaced the firing before the flush, and the receiver
    never heard of either (a fresh-clone CI run lost one group of twelve this way)."""
    sub = subscription()
    d = dispatcher(sub)
    d.change(change(sub, "firing", T0 - 600, severity="critical", since=T0 - 600), T0)
    d.change(change(sub, "resolved", T0 - 300, severity="critical", since=T0 - 600), T0)
    notes = d.due(T0, [], frozenset())
    assert [n.status for n, _ in notes] == ["firing", "resolved"]
    assert [n.seq for n, _ in notes] == [1, 2]
    assert notes[1][0].alerts[0].ends_at == T0 - 300
    assert notes[1][1].sent == {}
    assert d.due(T0 + 3600, [], frozenset()) == []  # nothing owed any more


def test_an_alert_that_fired_longer_than_the_group_wait_is_told_though_evaluated_late() -> None:
    sub = subscription()  # a 30 s group wait
    d = dispatcher(sub)
    d.change(change(sub, "firing", T0 - 600, since=T0 - 600), T0)
    d.change(change(sub, "resolved", T0 - 500, since=T0 - 600), T0)  # 100 s of firing
    assert d.due(T0 + 29, [], frozenset()) == []
    notes = d.due(T0 + 30, [], frozenset())
    assert [n.status for n, _ in notes] == ["firing", "resolved"]


def test_a_muted_alert_fired_and_resolved_late_is_still_not_told() -> None:
    sub = subscription()
    d = dispatcher(sub)
    hush = Silence("s1", sub.owner, {"alertname": sub.name}, T0 - 3600, T0 + 3600, "maintenance")
    d.change(change(sub, "firing", T0 - 600, severity="critical"), T0)
    d.change(change(sub, "resolved", T0 - 300, severity="critical"), T0)
    assert d.due(T0, [hush], frozenset()) == []


def test_silence_mutes_matching_alerts_of_its_owner_only() -> None:
    mine = subscription()
    theirs = subscription("sub_2", owner="api:bob")
    d = dispatcher(mine, theirs)
    silence = Silence("s1", "api:alice", {"location": "warehouse"}, T0, T0 + 3600)
    d.change(change(mine, "firing", T0), T0)
    d.change(change(theirs, "firing", T0), T0)
    notes = d.due(T0 + 30, [silence], frozenset())
    assert [n.sub_id for n, _ in notes] == ["sub_2"]
    # Once the silence is over, the still-firing alert is notified at the next interval.
    later = d.due(T0 + 30 + 300 + 3600, [silence], frozenset())
    assert [n.sub_id for n, _ in later] == ["sub_1"]


def test_snooze_holds_back_and_the_resolve_of_a_sent_alert_still_goes() -> None:
    sub = subscription(timing=Timing(group_wait_s=0))
    subs = {"sub_1": sub}
    d = Dispatcher(subs.get)
    d.change(change(sub, "firing", T0), T0)
    assert len(d.due(T0, [], frozenset())) == 1
    subs["sub_1"] = sub.with_changes(snoozed_until=T0 + 7200)
    d.change(change(subs["sub_1"], "firing", T0 + 60, labels(sensor="b")), T0 + 60)
    assert d.due(T0 + 300, [], frozenset()) == []  # the new alert is snoozed
    d.change(change(subs["sub_1"], "resolved", T0 + 400), T0 + 400)
    ((note, _),) = d.due(T0 + 600, [], frozenset())
    assert note.status == "resolved"
    assert len(note.alerts) == 1


def test_an_offline_node_inhibits_its_sensors_silence_alerts() -> None:
    sub = subscription(rule=SilentRule(), timing=Timing(group_wait_s=0))
    d = dispatcher(sub)
    d.change(change(sub, "firing", T0), T0)
    assert d.due(T0, [], frozenset({"pi-node-1"})) == []
    ((note, _),) = d.due(T0 + 300, [], frozenset())
    assert note.status == "firing"


def test_restore_resolves_what_was_sent_but_is_no_longer_firing() -> None:
    sub = subscription(timing=Timing(group_wait_s=0))
    d = dispatcher(sub)
    d.change(change(sub, "firing", T0), T0)
    ((_, group),) = d.due(T0, [], frozenset())
    again = dispatcher(sub)
    again.restore(
        GroupState(group.key, group.sub_id, group.seq, group.last_sent, group.sent), [], T0 + 50
    )
    ((note, _),) = again.due(T0 + 50, [], frozenset())
    assert note.status == "resolved"
    assert note.seq == 2


def test_notification_ids_are_stable_per_group_and_sequence() -> None:
    sub = subscription(timing=Timing(group_wait_s=0))
    a, b = dispatcher(sub), dispatcher(sub)
    for d in (a, b):
        d.change(change(sub, "firing", T0), T0)
    assert a.due(T0, [], frozenset())[0][0].id == b.due(T0, [], frozenset())[0][0].id
