"""The benchmark's knowledge graph at size, bulk-loaded once and cached on disk.

The facts (nodes with sensors and workloads, anomaly episodes over 90 days) come from a seeded
generator. What the upkeep derives from them is bulk-loaded with Ladybug's `COPY FROM` CSV files
written in the schema's column order (a 100,000-episode graph in seconds, where the catalogue's
MERGEs took minutes); the incidents people record go through `KnowledgeGraph.record_incident`,
the API's own path. A test builds a small graph both ways (bulk and through the upkeep's
catalogue writes) and expects the same nodes, properties and relationships.

The database is cached under `bench/.cache/` (git-ignored), keyed by the sizes, the seed, this
module's source, the Ladybug schema, the write catalogue and the Ladybug version, so a rerun of
the bench only measures; each run works on a copy, so the cache is never written to.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import inspect
import json
import random
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ladybug

from agent_bruno.knowledge.catalogue import Catalogue, load_catalogue
from agent_bruno.knowledge.ladybug_backend import LadybugBackend
from agent_bruno.knowledge.model import (
    EpisodeFact,
    IncidentInput,
    NodeFact,
    RootCauseInput,
    SeriesFact,
    WorkloadFact,
    sensor_key,
    workload_key,
)
from agent_bruno.knowledge.service import KnowledgeGraph

CACHE = Path(__file__).resolve().parent / ".cache"
METRICS = ("temperature", "humidity", "pressure", "co2", "cpu_percent")
UNITS = {"temperature": "°C", "humidity": "%", "pressure": "hPa", "co2": "ppm", "cpu_percent": "%"}
T0 = 1_764_000_000.0
DAY = 86_400.0
CLUSTER = "homelab"


@dataclass(frozen=True, slots=True)
class Size:
    """How big the generated graph is, and its seed."""

    nodes: int = 1_000
    sensors_per_node: int = 10
    locations: int = 50
    episodes: int = 100_000
    incidents: int = 1_000
    causes: int = 40
    seed: int = 11

    @property
    def sensors(self) -> int:
        """Sensors in all."""
        return self.nodes * self.sensors_per_node


@dataclass(frozen=True, slots=True)
class Facts:
    """What the generator made: nodes (with sensors and workloads) and episodes."""

    nodes: list[NodeFact]
    episodes: list[EpisodeFact]

    @property
    def sensor_keys(self) -> list[str]:
        """Every sensor's key, in generation order."""
        return [sensor_key(n.node, s.sensor) for n in self.nodes for s in n.sensors]


def generate(size: Size) -> Facts:
    """The seeded facts: nodes with sensors and workloads, episodes spread over 90 days."""
    rng = random.Random(size.seed)
    nodes = []
    for n in range(size.nodes):
        sensors = tuple(
            SeriesFact(f"s{s}", METRICS[s % len(METRICS)], UNITS[METRICS[s % len(METRICS)]])
            for s in range(size.sensors_per_node)
        )
        work = tuple(
            WorkloadFact(f"app-{w}", "apps", "pod", f"img:{w}", rng.uniform(1, 60), 128.0 * w)
            for w in range(3)
        )
        health: dict[str, float | None] = {
            "cpu_percent": rng.uniform(5, 95),
            "load_1m": rng.uniform(0, 4),
        }
        nodes.append(
            NodeFact(
                f"node-{n}", CLUSTER, f"loc-{n % size.locations}", T0, 300.0, health, sensors, work
            )
        )
    episodes = []
    for i in range(size.episodes):
        n, s = rng.randrange(size.nodes), rng.randrange(size.sensors_per_node)
        metric = METRICS[s % len(METRICS)]
        start = T0 - rng.uniform(0, 90 * DAY)
        end = start + rng.uniform(5, 120) * 60
        episodes.append(
            EpisodeFact(
                f"ep-{i}", CLUSTER, f"node-{n}", f"loc-{n % size.locations}", f"s{s}", metric,
                UNITS[metric], rng.choice(("process_anomaly", "sensor_fault")), "spike",
                rng.choice(("warning", "critical")), start, end, end, rng.randint(1, 20), 30.0,
                rng.uniform(-8, 8), "bench", end,
            )
        )  # fmt: skip
    return Facts(nodes, episodes)


def incidents(size: Size, facts: Facts) -> list[IncidentInput]:
    """The incidents people recorded: each links two episodes and names one of the causes."""
    rng = random.Random(size.seed + 1)
    found = []
    for k in range(size.incidents):
        first = facts.episodes[rng.randrange(len(facts.episodes))]
        other = facts.episodes[rng.randrange(len(facts.episodes))]
        found.append(
            IncidentInput(
                first.location,
                first.started,
                status="resolved",
                root_cause=RootCauseInput(f"cause number {k % size.causes}", recommendation="fix"),
                episodes=(first.id, other.id),
            )
        )
    return found


async def record_incidents(graph: KnowledgeGraph, size: Size, facts: Facts) -> None:
    """Record the incidents as the API does."""
    for incident in incidents(size, facts):
        await graph.record_incident(incident, "bench", T0)


# --- bulk loading --------------------------------------------------------------------------

_TABLE = re.compile(r"CREATE (NODE|REL) TABLE IF NOT EXISTS (\w+)\((.*)\)$", re.S)


def table_columns(schema: Iterable[str]) -> dict[str, list[str]]:
    """Each table's property columns in declaration order (what `COPY FROM` expects)."""
    found = {}
    for statement in schema:
        m = _TABLE.match(statement)
        if m is None:
            continue
        parts = [p.strip() for p in m.group(3).split(",")]
        found[m.group(2)] = [
            p.split()[0] for p in parts if p and not p.startswith(("PRIMARY KEY", "FROM ", "("))
        ]
    return found


def _rows(nodes: list[NodeFact], episodes: list[EpisodeFact]) -> dict[str, list[dict[str, Any]]]:
    """Node-table rows by table, as the upkeep's upserts would leave them."""
    health = ("cpu_percent", "memory_percent", "disk_percent", "load_1m", "soc_temp_c")
    clusters: dict[str, float] = {}
    locations: dict[str, float] = {}
    for f in nodes:
        clusters[f.cluster] = max(f.ts, clusters.get(f.cluster, f.ts))
        locations[f.location] = max(f.ts, locations.get(f.location, f.ts))
    return {
        "Cluster": [{"name": k, "last_seen": v} for k, v in clusters.items()],
        "Location": [{"name": k, "last_seen": v} for k, v in locations.items()],
        "Node": [
            {
                "name": f.node,
                "cluster": f.cluster,
                "location": f.location,
                "first_seen": f.ts,
                "last_seen": f.ts,
                "interval_s": f.interval_s,
                **{k: f.health.get(k) for k in health},
            }
            for f in nodes
        ],
        "Metric": [{"name": m} for m in sorted({s.metric for f in nodes for s in f.sensors})],
        "Sensor": [
            {
                "key": sensor_key(f.node, s.sensor),
                "name": s.sensor,
                "node": f.node,
                "location": f.location,
                "first_seen": f.ts,
                "last_seen": f.ts,
            }
            for f in nodes
            for s in {s.sensor: s for s in f.sensors}.values()
        ],
        "Workload": [
            {
                "key": workload_key(f.node, w.namespace, w.name),
                "name": w.name,
                "node": f.node,
                "namespace": w.namespace,
                "kind": w.kind,
                "image": w.image,
                "first_seen": f.ts,
                "last_seen": f.ts,
            }
            for f in nodes
            for w in f.workloads
        ],
        "Episode": [e.as_row() for e in episodes],
    }


# (relationship table, from table, to table) → rows of (from key, to key, properties)
_Rels = dict[tuple[str, str, str], list[tuple[str, str, dict[str, Any]]]]


def _rels(nodes: list[NodeFact], episodes: list[EpisodeFact]) -> _Rels:
    """Relationship rows, as the upkeep's links would leave them."""
    return {
        ("IN_CLUSTER", "Node", "Cluster"): [(f.node, f.cluster, {}) for f in nodes],
        ("IN_CLUSTER", "Location", "Cluster"): [
            (loc, c, {}) for loc, c in sorted({(f.location, f.cluster) for f in nodes})
        ],
        ("AT", "Node", "Location"): [(f.node, f.location, {}) for f in nodes],
        ("AT", "Episode", "Location"): [(e.id, e.location, {}) for e in episodes],
        ("ON_NODE", "Sensor", "Node"): [
            (sensor_key(f.node, s), f.node, {})
            for f in nodes
            for s in {x.sensor for x in f.sensors}
        ],
        ("MEASURES", "Sensor", "Metric"): [
            (sensor_key(f.node, s.sensor), s.metric, {"unit": s.unit})
            for f in nodes
            for s in f.sensors
        ],
        ("RUNS_ON", "Workload", "Node"): [
            (
                workload_key(f.node, w.namespace, w.name),
                f.node,
                {
                    "cpu_percent": w.cpu_percent,
                    "memory_mib": w.memory_mib,
                    "cpu_request_m": w.cpu_request_m,
                    "memory_request_mib": w.memory_request_mib,
                    "last_seen": f.ts,
                },
            )
            for f in nodes
            for w in f.workloads
        ],
        ("OBSERVED_BY", "Episode", "Sensor"): [
            (e.id, sensor_key(e.node, e.sensor), {}) for e in episodes
        ],
    }


def _csv(path: Path, header: list[str], rows: Iterable[list[Any]]) -> Path:
    """A CSV file (an empty field is null to Ladybug, so no fact may be the empty string)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(header)
        for row in rows:
            if any(v == "" for v in row):
                raise ValueError(f"{path.name}: an empty string would load as null: {row}")
            out.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in row])
    return path


def _ordered(table: str, columns: list[str], row: Mapping[str, Any]) -> list[Any]:
    """A row's values in the table's column order; a property the table lacks is an error."""
    extra = set(row) - set(columns)
    if extra:
        raise ValueError(f"{table} has no column {sorted(extra)}: the fixture and schema differ")
    return [row.get(c) for c in columns]


def bulk_load(path: Path, nodes: list[NodeFact], episodes: list[EpisodeFact]) -> None:
    """Create the graph at `path` with the schema and load these facts with `COPY FROM`."""
    catalogue = load_catalogue()
    schema = catalogue.schema["ladybug"]
    columns = table_columns(schema)
    db = ladybug.Database(str(path))
    conn = ladybug.Connection(db)
    try:
        for statement in schema:
            conn.execute(statement)
        with tempfile.TemporaryDirectory(prefix="bench-graph-csv-") as tmp:
            for table, rows in _rows(nodes, episodes).items():
                cols = columns[table]
                f = _csv(Path(tmp) / f"{table}.csv", cols, (_ordered(table, cols, r) for r in rows))
                conn.execute(f"COPY {table} FROM '{f}' (header=true)")
            for (rel, src, dst), rows3 in _rels(nodes, episodes).items():
                cols = columns[rel]
                f = _csv(
                    Path(tmp) / f"{rel}-{src}-{dst}.csv",
                    ["from", "to", *cols],
                    ([a, b, *_ordered(rel, cols, props)] for a, b, props in rows3),
                )
                conn.execute(f"COPY {rel} FROM '{f}' (header=true, from='{src}', to='{dst}')")
    finally:
        conn.close()
        db.close()


# --- the cache ------------------------------------------------------------------------------


def cache_key(size: Size, catalogue: Catalogue | None = None) -> str:
    """What the cached graph depends on, hashed."""
    catalogue = catalogue or load_catalogue()
    writes = sorted(
        (name, q.text("ladybug")) for name, q in catalogue.queries.items() if q.mode == "write"
    )
    basis = json.dumps(
        {
            "size": asdict(size),
            "source": inspect.getsource(inspect.getmodule(cache_key)),  # type: ignore[arg-type]
            "schema": catalogue.schema["ladybug"],
            "writes": writes,
            "ladybug": ladybug.__version__,
        },
        sort_keys=True,
    )
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


async def build(path: Path, size: Size, facts: Facts) -> None:
    """The whole graph at `path`: bulk-loaded facts, then the incidents through the API's path."""
    await asyncio.to_thread(bulk_load, path, facts.nodes, facts.episodes)
    backend = await LadybugBackend.open(path)
    try:
        await record_incidents(KnowledgeGraph(backend, load_catalogue()), size, facts)
    finally:
        await backend.close()


async def graph_copy(size: Size, facts: Facts, into: Path) -> tuple[Path, bool]:
    """A fresh copy of the cached graph of `size` at `into`/graph.lbdb (building and caching it
    first when absent); returns its path and whether it was built now."""
    home = CACHE / f"graph-{cache_key(size)}"
    cached = home / "graph.lbdb"
    built = not cached.exists()
    if built:
        home.mkdir(parents=True, exist_ok=True)
        partial = home / "building"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        await build(partial / "graph.lbdb", size, facts)
        # The database file last: its presence says the cache entry is complete.
        for f in sorted(partial.iterdir(), key=lambda f: f.name == "graph.lbdb"):
            f.rename(home / f.name)
        partial.rmdir()
    target = into / "graph.lbdb"
    for f in home.iterdir():
        if f.name.startswith("graph.lbdb"):
            shutil.copyfile(f, into / f.name)
    return target, built
