"""What the alert service rebuilds at start: node and series facts, firing alerts by group."""

from __future__ import annotations

from collections.abc import Mapping

from agent_bruno.alerts.evaluator import Evaluator, NodeFacts, SeriesLabels
from agent_bruno.alerts.routing import AlertView
from agent_bruno.alerts.subscription import Subscription
from agent_bruno.health import Beat
from agent_bruno.storage.base import Storage


def seed_facts(storage: Storage, evaluator: Evaluator) -> None:
    """What the evaluator knows before any event: nodes' heartbeats, series' last data (in a
    worker thread: it reads storage)."""
    for n in storage.list_nodes():
        evaluator.heartbeat(
            NodeFacts(
                n.node,
                n.cluster,
                n.location,
                Beat(
                    n.last_seen,  # liveness by the agent's clock
                    n.interval_s,
                    n.health,
                    n.outbox_depth,
                    n.outbox_dropped,
                    n.previous_outbox_depth,
                ),
            )
        )
    for c in storage.catalog():
        key = SeriesLabels(c.cluster, c.node, c.location, c.sensor, c.metric, c.unit)
        evaluator.last_seen[key] = c.last_ts


def firing_views(
    evaluator: Evaluator, subs: Mapping[str, Subscription]
) -> dict[str, list[AlertView]]:
    """The restored firing alerts as the dispatcher's views, by group key."""
    firing: dict[str, list[AlertView]] = {}
    for sub_id, entry in evaluator.firing():
        sub = subs[sub_id]
        st = entry.state
        view = AlertView(
            entry.fingerprint,
            "firing",
            entry.labels,
            st.since,
            None,
            st.value,
            st.peak,
            "",
            sub.rule.severity,
        )
        key = f"{sub_id}/{entry.labels.get('location', '')}"
        firing.setdefault(key, []).append(view)
    return firing
