"""`GraphUpkeep`: keeps the graph in step with heartbeats, the catalog and episodes.

Ingest only hands over what it committed (`offer`: dict assignments of the objects it already
has, never a conversion and never a wait); a task writes batches every `flush_s`: the newest
heartbeat per node, the newest state per episode. The batch is turned into facts and statements
in a worker thread, so the event loop's share of a flush is swapping three containers. Most of a
batch is cheap keyed updates (`update_node_health`, `update_workload_use`, `update_episodes`):
only what is new or changed in shape, and everything once a minute, goes through the MERGEs.
Every `reconcile_s` (and at start) it re-reads storage, so whatever a full buffer, a restart or an
unreachable graph missed is written later. Writes are idempotent: replaying changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from agent_bruno.knowledge.backend import GraphError, Statement
from agent_bruno.knowledge.model import EpisodeFact, NodeFact, sensor_key
from agent_bruno.knowledge.service import KnowledgeGraph
from agent_bruno.knowledge.sources import (
    from_catalog,
    from_episode_row,
    from_heartbeat,
    from_node_row,
)
from agent_bruno.knowledge.transfer import import_knowledge, parse_knowledge
from agent_bruno.knowledge.writes import vitals
from agent_bruno.storage.base import EpisodeQuery, EventsWrite, Storage, WriteOutcome
from agent_bruno.wire import HeartbeatEvent

T = TypeVar("T")

log = logging.getLogger(__name__)

MAX_PENDING_NODES = 20_000
MAX_PENDING_EPISODES = 50_000
MAX_BACKOFF_S = 60.0
CHUNK = 5_000  # rows per statement and per reconcile transaction
# A node whose place, sensors and workloads are as last written gets only its health and its
# workloads' use written, an episode written in full gets only its changing fields; everything is
# written in full at least this often, so each fact's last_seen stays this fresh and a graph
# emptied behind the agent's back (another agent's rebuild on the same Neo4j) fills again.
TOPOLOGY_REFRESH_S = 60.0
FOREVER = 1e12
ALL_EPISODES = 10_000_000


def stored_episodes(storage: Storage, since: float) -> list[EpisodeFact]:
    """Every stored episode updated at or after `since` (agent receive time)."""
    query = EpisodeQuery(
        start=0.0, end=FOREVER, limit=ALL_EPISODES, changed_since=since if since > 0 else None
    )
    return [from_episode_row(r) for r in storage.query_episodes(query)]


Beat = tuple[str, str, HeartbeatEvent]  # cluster, location and the node's newest heartbeat


def _topology(fact: NodeFact) -> int:
    """What of a node changes rarely: its place, its sensors and which workloads run there."""
    running = tuple((w.namespace, w.name, w.kind, w.image) for w in fact.workloads)
    return hash((fact.cluster, fact.location, fact.sensors, running))


REFRESH_SLOTS = 6  # the refresh period's phases: full rewrites fall in this many flushes


def refresh_phase(node: str) -> float:
    """How far into the refresh period a node's first full write is counted as made (seconds
    in [0, TOPOLOGY_REFRESH_S), one of REFRESH_SLOTS phases, by its name): a fleet first written
    in one flush is then written in full again spread over the period, a share of the nodes in
    each of a few flushes, not all in one flush a minute, and not a few in every flush either
    (a full write is a dozen statements whatever its size, and each statement has a fixed cost:
    most steady flushes are then only the keyed updates). Each node is still written in full at
    least every TOPOLOGY_REFRESH_S."""
    return zlib.crc32(node.encode()) % REFRESH_SLOTS * (TOPOLOGY_REFRESH_S / REFRESH_SLOTS)


def chunks(items: Sequence[T], size: int = CHUNK) -> list[Sequence[T]]:
    """`items` in slices of at most `size`."""
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass(slots=True)
class Batch:
    """One flush, prepared off the event loop: its statements and what they write in full."""

    steps: list[Statement]
    nodes: int
    episodes: int
    shaped: dict[str, int]  # node → topology digest, for the nodes written in full
    placed: dict[str, tuple[str, frozenset[str]]]  # of those: node → location, sensor keys
    full_episodes: list[str]  # episode ids written in full
    vitals: dict[str, tuple[int, dict[str, int]]]  # node → digests of its health and use


@dataclass
class UpkeepState:
    """What /readyz and the logs say about the graph."""

    backend: str
    where: str
    ready: bool = False
    problem: str | None = None
    last_write: float | None = None
    last_reconcile: float | None = None
    written: dict[str, int] = field(default_factory=lambda: {"nodes": 0, "episodes": 0})
    overflowed: int = 0  # offers dropped while the buffer was full (storage still has them)

    def as_dict(self, pending: int) -> dict[str, Any]:
        """JSON-ready state."""
        return {
            "backend": self.backend,
            "where": self.where,
            "state": "ready" if self.ready and self.problem is None else "unavailable",
            "problem": self.problem,
            "last_write": self.last_write,
            "last_reconcile": self.last_reconcile,
            "pending": pending,
            "written": dict(self.written),
            "overflowed": self.overflowed,
        }


class GraphUpkeep:
    """Buffers what ingest committed and writes it to the graph in batches."""

    def __init__(
        self,
        graph: KnowledgeGraph,
        storage: Storage,
        *,
        flush_s: float = 1.0,
        reconcile_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        ticker: Callable[[], float] = time.monotonic,
    ) -> None:
        self.graph = graph
        self.storage = storage
        self.flush_s = flush_s
        self.reconcile_s = reconcile_s
        self.clock = clock
        self.ticker = ticker  # the refresh schedule's clock (monotonic)
        self.state = UpkeepState(graph.backend.name, graph.backend.where)
        self._beats: dict[str, Beat] = {}
        self._episodes: dict[str, EpisodeFact] = {}
        self._touched: set[str] = set()  # episode ids whose stored state changed
        self._written: dict[str, tuple[int, float]] = {}  # node → (topology digest, when)
        self._placed: dict[str, tuple[str, frozenset[str]]] = {}  # node → location, sensor keys
        self._vitals: dict[str, tuple[int, dict[str, int]]] = {}  # node → health, use digests
        self._episodes_written: dict[str, float] = {}  # episode id → when, oldest first
        self._reconcile_due = True
        self._reconciled_to = 0.0
        self._lock = asyncio.Lock()  # one writer at a time: flush, reconcile, rebuild

    # --- the ingest side: never waits ----------------------------------------------------

    def offer(self, write: EventsWrite, outcome: WriteOutcome) -> None:
        """Take what one committed request changed: its newest heartbeat and its episodes."""
        hb = outcome.heartbeat
        if hb is not None:
            if len(self._beats) >= MAX_PENDING_NODES and write.node not in self._beats:
                self._overflow()
            else:
                self._beats[write.node] = (write.cluster, write.location, hb)
        for eid in outcome.episodes:
            if len(self._touched) >= MAX_PENDING_EPISODES and eid not in self._touched:
                self._overflow()
                break
            self._touched.add(eid)

    def offer_episodes(self, episodes: Sequence[EpisodeFact]) -> None:
        """Take episode states (the newest `updated` of each id wins)."""
        for e in episodes:
            prior = self._episodes.get(e.id)
            if prior is not None and prior.updated > e.updated:
                continue
            if prior is None and len(self._episodes) >= MAX_PENDING_EPISODES:
                self._overflow()
                continue
            self._episodes[e.id] = e

    def _overflow(self) -> None:
        self.state.overflowed += 1
        self._reconcile_due = True

    @property
    def pending(self) -> int:
        """Facts waiting for the next flush."""
        return len(self._beats) + len(self._episodes) + len(self._touched)

    # --- the writing side ------------------------------------------------------------------

    async def flush(self) -> int:
        """Write what is buffered in one transaction; on failure keep it for the next try."""
        async with self._lock:
            beats, self._beats = self._beats, {}
            episodes, self._episodes = self._episodes, {}
            touched, self._touched = self._touched, set()
            if not beats and not episodes and not touched:
                return 0
            try:
                batch = await asyncio.to_thread(self._prepare, beats, episodes, touched)
                if batch.steps:
                    await self.graph.write(batch.steps)
            except BaseException:
                for k, b in beats.items():
                    self._beats.setdefault(k, b)  # a newer offer since then wins
                for k, e in episodes.items():
                    self._episodes.setdefault(k, e)
                self._touched |= touched
                raise
            self._remember(batch)
            return batch.nodes + batch.episodes

    def _prepare(
        self, beats: dict[str, Beat], offered: dict[str, EpisodeFact], touched: set[str]
    ) -> Batch:
        """Facts and statements of one flush (a worker thread: storage reads, Python work)."""
        episodes = dict(offered)
        if touched:  # storage holds the newest state of each (revisions, supersedes)
            for fact in self._stored(touched):
                prior = episodes.get(fact.id)
                if prior is None or prior.updated <= fact.updated:
                    episodes[fact.id] = fact
        nodes = [from_heartbeat(c, node, loc, hb) for node, (c, loc, hb) in beats.items()]
        now = self.ticker()
        fresh = now - TOPOLOGY_REFRESH_S
        digests = {f.node: _topology(f) for f in nodes}
        same = frozenset(
            n
            for n, d in digests.items()
            if (seen := self._written.get(n)) is not None and seen[0] == d and seen[1] > fresh
        )
        known = frozenset(
            e for e in episodes if (t := self._episodes_written.get(e)) is not None and t > fresh
        )
        now_vitals = {f.node: vitals(f) for f in nodes}
        settled = frozenset(  # due for the refresh only: the same topology as last written
            n
            for n, d in digests.items()
            if n not in same and (seen := self._written.get(n)) is not None and seen[0] == d
        )
        steps = self.graph.node_statements(
            nodes,
            health_only=same,
            unchanged=self._unchanged(same, now_vitals),
            settled=settled,
        )
        placed = {
            f.node: (f.location, frozenset(sensor_key(f.node, x.sensor) for x in f.sensors))
            for f in nodes
            if f.node not in same
        }
        steps += self.graph.episode_statements(
            list(episodes.values()),
            known=known,
            placed=self._in_place(episodes.values(), placed, fresh),
        )
        return Batch(
            steps,
            len(nodes),
            len(episodes),
            {n: d for n, d in digests.items() if n not in same},
            placed,
            [e for e in episodes if e not in known],
            now_vitals,
        )

    def _in_place(
        self,
        episodes: Iterable[EpisodeFact],
        placed: dict[str, tuple[str, frozenset[str]]],
        fresh: float,
    ) -> frozenset[tuple[str, str]]:
        """The (sensor key, location) pairs of these episodes that the graph holds: their node
        was written in full with that sensor in that location in this batch or within the
        refresh period (a graph emptied since then gets them from reconcile or the next full
        write, as it gets the nodes)."""
        found: set[tuple[str, str]] = set()
        for e in episodes:
            where = placed.get(e.node)
            if where is None and (seen := self._written.get(e.node)) and seen[1] > fresh:
                where = self._placed.get(e.node)
            key = sensor_key(e.node, e.sensor)
            if where is not None and where[0] == e.location and key in where[1]:
                found.add((key, e.location))
        return frozenset(found)

    def _unchanged(
        self, same: frozenset[str], now: dict[str, tuple[int, dict[str, int]]]
    ) -> frozenset[str]:
        """Of the nodes written lightly, those whose health is as last written (by name) and
        the workloads whose use is (by key): coalesced heartbeats write only what changed.
        Everything is written in full at least every `TOPOLOGY_REFRESH_S` all the same, so
        last_seen is never older than that."""
        found: set[str] = set()
        for node in same:
            before = self._vitals.get(node)
            if before is None:
                continue
            health, use = now[node]
            if health == before[0]:
                found.add(node)
            found.update(k for k, d in use.items() if before[1].get(k) == d)
        return frozenset(found)

    def _remember(self, batch: Batch) -> None:
        """After a commit: what was written in full, and when; the state /readyz shows."""
        now = self.ticker()
        for n, d in batch.shaped.items():
            seen = self._written.get(n)
            self._written[n] = (d, now if seen is not None else now - refresh_phase(n))
        self._placed.update(batch.placed)
        self._vitals.update(batch.vitals)
        self._note_episodes(batch.full_episodes, now)
        self.state.written["nodes"] += batch.nodes
        self.state.written["episodes"] += batch.episodes
        self.state.last_write = self.clock()

    def _note_episodes(self, ids: Sequence[str], now: float) -> None:
        """Episodes written in full at `now`; those older than a refresh are forgotten."""
        known = self._episodes_written
        for eid in ids:
            known.pop(eid, None)
            known[eid] = now  # insertion order stays time order
        fresh = now - TOPOLOGY_REFRESH_S
        while known:
            eid = next(iter(known))
            if known[eid] > fresh:
                break
            del known[eid]

    def _stored(self, ids: set[str]) -> list[EpisodeFact]:
        """The stored state of some episodes (those storage no longer has are skipped)."""
        return [from_episode_row(row) for row in self.storage.get_episodes(sorted(ids))]

    async def reconcile(self) -> dict[str, int]:
        """Re-read storage (nodes, series, episodes changed since the last time) and write it,
        in transactions of at most `CHUNK` rows."""
        async with self._lock:
            started = self.clock()
            rows = await asyncio.to_thread(self.storage.list_nodes)
            catalog = await asyncio.to_thread(self.storage.catalog)
            since = self._reconciled_to
            episodes = await asyncio.to_thread(stored_episodes, self.storage, since)
            for part in chunks([from_node_row(r) for r in rows]):
                await self.graph.write(self.graph.node_statements(part))
            for series in chunks(from_catalog(catalog)):
                await self.graph.write(self.graph.catalog_statements(series))
            for batch in chunks(episodes):
                await self.graph.write(self.graph.episode_statements(batch))
                self._note_episodes([e.id for e in batch], self.ticker())
            self._reconciled_to = started
            self._reconcile_due = False
            self.state.last_reconcile = self.clock()
            return {"nodes": len(rows), "series": len(catalog), "episodes": len(episodes)}

    async def rebuild(self) -> dict[str, Any]:
        """Export what people taught, empty the graph, rebuild it from storage, import again."""
        async with self._lock:
            taught = await self.graph.export_knowledge()
            await self.graph.write([self.graph.statement("delete_all")])
            self.graph.forget_incidents()
            self._written.clear()
            self._placed.clear()
            self._vitals.clear()
            self._episodes_written.clear()
            self._reconciled_to = 0.0
        derived = await self.reconcile()
        imported = await import_knowledge(self.graph, parse_knowledge(taught))
        log.info("graph rebuilt from storage: %s; re-imported %s", derived, imported)
        return {"derived": derived, "imported": imported}

    async def start(self) -> None:
        """Apply the schema; raises GraphError while the graph cannot be reached."""
        await self.graph.apply_schema()
        self.state.ready = True

    async def run(self) -> None:
        """Start, then flush every `flush_s` and reconcile every `reconcile_s`, until cancelled.
        Failures are logged once per change of problem and retried with back-off."""
        backoff = self.flush_s
        next_reconcile = 0.0
        while True:
            try:
                if not self.state.ready:
                    await self.start()
                    log.info(
                        "knowledge graph ready: %s at %s", self.state.backend, self.state.where
                    )
                if self._reconcile_due or time.monotonic() >= next_reconcile:
                    await self.reconcile()
                    next_reconcile = time.monotonic() + self.reconcile_s
                await self.flush()
                if self.state.problem is not None:
                    log.info("knowledge graph writes work again (%s)", self.state.where)
                self.state.problem = None
                backoff = self.flush_s
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the graph never stops the service
                problem = (
                    str(exc) if isinstance(exc, GraphError) else f"{type(exc).__name__}: {exc}"
                )
                if problem != self.state.problem:
                    log.error("knowledge graph upkeep failed (will retry): %s", problem)
                self.state.problem = problem
                backoff = min(MAX_BACKOFF_S, backoff * 2)
            await asyncio.sleep(backoff if self.state.problem else self.flush_s)

    async def stop(self) -> None:
        """A last flush of what is buffered (best effort: storage still has it all)."""
        try:
            await self.flush()
        except Exception as exc:
            log.warning("knowledge graph: last flush failed (storage keeps it): %s", exc)
