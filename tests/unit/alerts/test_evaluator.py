"""The live evaluator: only the rules an observation crosses (or that have an alert on the
series) are stepped, scopes are respected, node and silence rules tick."""

from __future__ import annotations

from agent_bruno.alerts.engine import Observation
from agent_bruno.alerts.evaluator import Evaluator, NodeFacts, SeriesLabels
from agent_bruno.alerts.model import NodeRule, Scope, SilentRule, ThresholdRule
from agent_bruno.health import Beat
from tests.unit.alerts.helpers import T0, subscription

WAREHOUSE = SeriesLabels("homelab", "pi-node-1", "warehouse", "dht22-1", "humidity", "%")
LAB = SeriesLabels("homelab", "pi-node-2", "lab", "dht22-1", "humidity", "%")


def window(i: int, lo: float, hi: float) -> Observation:
    return Observation(T0 + 300 * i, T0 + 300 * (i + 1), lo, hi, hi)


def test_many_rules_only_the_crossed_fire_and_a_firing_one_resolves() -> None:
    ev = Evaluator()
    subs = [
        subscription(f"below-{v}", ThresholdRule(metric="humidity", op="below", value=v))
        for v in range(10, 60, 5)
    ] + [
        subscription(f"above-{v}", ThresholdRule(metric="humidity", op="above", value=v))
        for v in range(10, 60, 5)
    ]
    ev.set_subscriptions(subs)
    fired = {c.sub.id for c in ev.observe(WAREHOUSE, window(0, 32, 38))}
    below = {f"below-{v}" for v in (35, 40, 45, 50, 55)}
    above = {f"above-{v}" for v in (10, 15, 20, 25, 30, 35)}
    assert fired == below | above
    # Back to 50-52: no rule "crosses" anything new except above-45, but every firing one is
    # still looked at, so the below-35…50 ones resolve.
    changes = {(c.sub.id, c.change.status) for c in ev.observe(WAREHOUSE, window(1, 50, 52))}
    assert ("below-35", "resolved") in changes
    assert ("below-50", "resolved") in changes
    assert ("above-45", "firing") in changes
    assert ("below-55", "resolved") not in changes


def test_scopes() -> None:
    ev = Evaluator()
    rule = ThresholdRule(metric="humidity", op="below", value=30, scope=Scope(location="lab"))
    ev.set_subscriptions([subscription(rule=rule)])
    assert ev.observe(WAREHOUSE, window(0, 20, 25)) == []
    assert len(ev.observe(LAB, window(0, 20, 25))) == 1


def test_paused_rules_are_not_evaluated() -> None:
    ev = Evaluator()
    ev.set_subscriptions([subscription(rule=ThresholdRule(metric="humidity", op="below", value=30),
                                       paused=True)])  # fmt: skip
    assert ev.observe(WAREHOUSE, window(0, 20, 25)) == []


def test_offline_node_and_silent_sensor_tick() -> None:
    ev = Evaluator()
    ev.set_subscriptions(
        [subscription("off", NodeRule(condition="offline")), subscription("quiet", SilentRule())]
    )
    ev.heartbeat(NodeFacts("pi-node-1", "homelab", "warehouse",
                           Beat(T0, 60, {}, 0, 0, None)))  # fmt: skip
    ev.observe(WAREHOUSE, window(0, 40, 45))
    assert ev.tick(T0 + 100) == []
    changes = {(c.sub.id, c.change.status) for c in ev.tick(T0 + 300 + 901)}
    assert changes == {("off", "firing"), ("quiet", "firing")}
    assert ev.offline == frozenset({"pi-node-1"})
    ev.heartbeat(NodeFacts("pi-node-1", "homelab", "warehouse",
                           Beat(T0 + 1300, 60, {}, 0, 0, None)))  # fmt: skip
    ev.observe(WAREHOUSE, window(4, 40, 45))
    changes = {(c.sub.id, c.change.status) for c in ev.tick(T0 + 1310)}
    assert changes == {("off", "resolved"), ("quiet", "resolved")}
