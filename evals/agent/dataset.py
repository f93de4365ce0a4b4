"""The seeded homelab the agent evaluation asks about, written through the real storage API.

`build(path)` writes a fresh SQLite database and returns the ground truth it wrote. Everything
is a function of `SEED`, so two builds are identical and the expected facts in `cases/*.yaml`
(computed once from this ground truth) stay true.

What is in it, "now" being 2026-11-26T14:20:00Z (time zone UTC):

- cluster "homelab", six nodes: pi-node-1 and pi-node-2 in the warehouse, pi-node-3 in the
  server-room, pi-node-4 in the office, pi-node-5 in the greenhouse, pi-node-6 in the garage.
  Heartbeats every 60 s; the last one 30 s before now, except pi-node-6, which went offline at
  11:50 (its heartbeat and its data stop there).
- sensors: dht22-1 (temperature °C, humidity %) on every node; bmp280-1 (pressure hPa) on
  pi-node-1, 3 and 5; mhz19-1 (co2 ppm) on pi-node-3 and 4; pir-1 (motion, unit "count") on
  pi-node-2 and 4; node (cpu_percent, memory_percent, disk_percent in %, load_1m unitless,
  soc_temp_c °C) on every node.
- 30 days of aggregates per series with a daily cycle plus noise, around levels far enough
  apart that rankings are unambiguous: 5-minute aggregates (count 60) from yesterday 00:00 on,
  hourly ones (count 720) before that, from 2026-10-27T15:00. Hourly history keeps the build
  under 3 s (56k events instead of 423k); the store files each aggregate under the 5-minute
  bucket of its start, so a mean over any range is still sum(mean·count)/sum(count) over the
  aggregates whose start lies in it.
- the last aggregate of every series ends on a round value (`LATEST`): that is "the current
  value". pi-node-3 has been under high load for the last 40 minutes (cpu ~94 %, load ~3.8,
  SoC ~71 °C; its heartbeat says cpu 94 with workloads edge-reporter, frigate and postgres).
- yesterday (2026-11-25, the whole UTC day) the warehouse was 2.0 °C warmer than its usual level.
- 14 flagged readings (`ANOMALIES`): 8 in the last 24 hours (7 of them today, 1 critical),
  12 in the last 7 days (2 critical), 14 in the last 30 days. Each flagged value is also
  folded into its 5-minute aggregate (min/max/mean), as a reporter's aggregate counts it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

from agent_bruno.storage.base import EventsWrite
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.wire import (
    AggregateEvent,
    Baseline,
    HeartbeatEvent,
    NodeHealth,
    ReadingEvent,
    SensorInfo,
)
from evals.agent.world import (
    ANOMALIES,
    ANOMALY_COUNTS,
    CLUSTER,
    COARSE_STEP,
    FINE_START,
    HEARTBEAT_INTERVAL_S,
    HIGH_LOAD_NODE,
    HIGH_LOAD_SINCE,
    HISTORY_START,
    LATEST,
    LOCATIONS,
    NODE_SENSORS,
    NOW,
    OFFLINE_AT,
    OFFLINE_NODE,
    SEED,
    SENSOR_METRICS,
    STEP,
    TODAY,
    WAREHOUSE_YESTERDAY_OFFSET_C,
    WORKLOADS,
    YESTERDAY,
    Flag,
)

# metric → (daily amplitude, noise of a 5-minute mean, spread of readings within 5 minutes)
_SHAPE: Mapping[str, tuple[float, float, float]] = MappingProxyType(
    {
        "temperature": (0.6, 0.08, 0.15),
        "humidity": (2.0, 0.3, 0.5),
        "pressure": (1.5, 0.2, 0.3),
        "co2": (80.0, 10.0, 15.0),
        "motion": (0.0, 0.0, 0.0),
        "cpu_percent": (0.0, 0.6, 0.6),
        "memory_percent": (0.0, 0.8, 0.5),
        "disk_percent": (0.0, 0.0, 0.05),
        "load_1m": (0.0, 0.08, 0.15),
        "soc_temp_c": (1.5, 0.5, 0.8),
    }
)
_LOCATION_AMPLITUDE = MappingProxyType({"greenhouse": 3.0, "garage": 2.0})


@dataclass(frozen=True, slots=True)
class Bucket:
    """One aggregate as written: [start, start + width), `count` readings."""

    start: float
    width: int
    count: int
    min: float
    max: float
    mean: float
    last: float


SeriesId = tuple[str, str, str]  # (node, sensor, metric)


@dataclass(frozen=True, slots=True)
class Dataset:
    """What `build` wrote: the database, its frozen "now" and time zone, and the ground truth."""

    path: Path
    now: float
    tz: ZoneInfo
    cluster: str
    locations: Mapping[str, str]  # node → location
    units: Mapping[SeriesId, str]
    series: Mapping[SeriesId, tuple[Bucket, ...]]
    anomalies: tuple[Flag, ...]
    heartbeats: Mapping[str, float]  # node → ts of its latest heartbeat


def _level(node: str, metric: str, target: float, t: float, rng: random.Random) -> float:
    """The underlying value of a series at time `t` (before the noise of its aggregate)."""
    location = LOCATIONS[node]
    amplitude = _SHAPE[metric][0]
    if metric == "temperature":
        amplitude = _LOCATION_AMPLITUDE.get(location, amplitude)
    # Peak at 15:00 UTC; anchored so the cycle is zero at "now" (or when the node went offline).
    anchor = OFFLINE_AT if node == OFFLINE_NODE else NOW
    value = target + amplitude * (_cycle(t) - _cycle(anchor))
    if metric == "temperature" and location == "warehouse" and YESTERDAY <= t < TODAY:
        value += WAREHOUSE_YESTERDAY_OFFSET_C
    if node == HIGH_LOAD_NODE and metric in ("cpu_percent", "load_1m", "soc_temp_c"):
        if t < HIGH_LOAD_SINCE:
            value = {"cpu_percent": 20.0, "load_1m": 0.45, "soc_temp_c": 50.0}[metric]
            value += amplitude * _cycle(t)
    elif metric == "cpu_percent":
        value = target + rng.uniform(-4.0, 4.0)
    elif metric == "disk_percent":
        value = target - 0.05 * (anchor - t) / 86_400  # slowly filling up
    return value


def _cycle(t: float) -> float:
    """Daily cycle in [-1, 1], peaking at 15:00 UTC."""
    return math.sin(2 * math.pi * ((t % 86_400) / 3600 - 9.0) / 24)


def _bounds(metric: str) -> tuple[float, float]:
    """Physical range of a metric (percentages stay within 0–100)."""
    if metric.endswith("_percent") or metric == "humidity":
        return 0.0, 100.0
    if metric in ("motion", "load_1m", "co2"):
        return 0.0, math.inf
    return -math.inf, math.inf


def _windows(node: str) -> list[tuple[int, int]]:
    """(start, width) of every aggregate of a node's series: hourly, then 5-minute."""
    end = int(OFFLINE_AT if node == OFFLINE_NODE else NOW)
    coarse = [(t, COARSE_STEP) for t in range(int(HISTORY_START), int(FINE_START), COARSE_STEP)]
    return coarse + [(t, STEP) for t in range(int(FINE_START), end, STEP)]


def _buckets(node: str, sensor: str, metric: str, rng: random.Random) -> list[Bucket]:
    """30 days of aggregates of one series, the last one ending on `LATEST`."""
    target = LATEST[(node, sensor, metric)]
    windows = _windows(node)
    _, noise, spread = _SHAPE[metric]
    lo, hi = _bounds(metric)
    out: list[Bucket] = []
    for i, (start, width) in enumerate(windows):
        final = i == len(windows) - 1
        count = 60 * width // STEP
        wide = width / STEP  # an hour holds more of the daily cycle and more extremes
        if metric == "motion":
            busy = 8 <= (start % 86_400) / 3600 < 18
            top = rng.randint(1, 9) if busy else rng.randint(0, 2)
            last = target if final else float(rng.randint(0, top))
            top = max(top, int(last))
            mean = round(rng.uniform(0, top), 2) if top else 0.0
            out.append(Bucket(float(start), width, count, 0.0, float(top), mean, last))
            continue
        centre = _level(node, metric, target, start + width / 2, rng)
        mean = min(hi, max(lo, centre + rng.gauss(0.0, noise)))
        if final:
            last = target
            mean = min(hi, max(lo, last + rng.gauss(0.0, noise / 2)))
        else:
            last = min(hi, max(lo, mean + rng.gauss(0.0, spread / 2)))
        size = spread * (1.0 if width == STEP else 1.0 + math.log(wide))
        low = max(lo, min(mean, last) - abs(rng.gauss(size, size / 3)))
        high = min(hi, max(mean, last) + abs(rng.gauss(size, size / 3)))
        out.append(
            Bucket(
                float(start), width, count, _low(low, mean), _high(high, mean), round(mean, 3),
                round(last, 2),
            )
        )  # fmt: skip
    return out


def _low(low: float, mean: float) -> float:
    """`low` to 2 decimals, rounded down where rounding up would pass the 3-decimal mean."""
    value = round(low, 2)
    return value if value <= round(mean, 3) else math.floor(low * 100) / 100


def _high(high: float, mean: float) -> float:
    """`high` to 2 decimals, rounded up where rounding down would pass the 3-decimal mean."""
    value = round(high, 2)
    return value if value >= round(mean, 3) else math.ceil(high * 100) / 100


def _fold_flags(series: dict[SeriesId, list[Bucket]]) -> None:
    """Count each flagged reading in its aggregate, as the reporter's aggregate does."""
    for flag in ANOMALIES:
        buckets = series[(flag.node, flag.sensor, flag.metric)]
        (i,) = [i for i, b in enumerate(buckets) if b.start <= flag.ts < b.start + b.width]
        b = buckets[i]
        mean = round(b.mean + (flag.value - b.mean) / b.count, 3)
        buckets[i] = Bucket(
            b.start, b.width, b.count, min(b.min, flag.value), max(b.max, flag.value), mean,
            b.last,
        )  # fmt: skip


def _heartbeat(node: str) -> HeartbeatEvent:
    """The node's latest heartbeat: health from its latest node metrics."""
    ts = OFFLINE_AT if node == OFFLINE_NODE else NOW - 30
    health = {m: LATEST[(node, "node", m)] for m, _ in SENSOR_METRICS["node"]}
    return HeartbeatEvent(
        id=f"hb-{int(ts)}",
        type="heartbeat",
        ts=ts,
        interval_s=HEARTBEAT_INTERVAL_S,
        health=NodeHealth(**health, uptime_s=12 * 86_400.0),
        sensors=[
            SensorInfo(sensor=s, metric=m, unit=u)
            for s in NODE_SENSORS[node]
            for m, u in SENSOR_METRICS[s]
        ],
        workloads=list(WORKLOADS[node]),
    )


def generate(seed: int = SEED) -> dict[SeriesId, list[Bucket]]:
    """Every series' 5-minute aggregates, anomalies folded in (pure: no I/O)."""
    rng = random.Random(seed)
    series: dict[SeriesId, list[Bucket]] = {}
    for node, sensors in NODE_SENSORS.items():
        for sensor in sensors:
            for metric, _ in SENSOR_METRICS[sensor]:
                series[(node, sensor, metric)] = _buckets(node, sensor, metric, rng)
    _fold_flags(series)
    return series


def build(path: Path, seed: int = SEED) -> Dataset:
    """Write the dataset into a fresh SQLite database at `path` and return its ground truth."""
    if path.exists():
        raise FileExistsError(f"{path} already exists; build the dataset into a fresh path")
    series = generate(seed)
    units = {
        (node, sensor, metric): unit
        for node, sensors in NODE_SENSORS.items()
        for sensor in sensors
        for metric, unit in SENSOR_METRICS[sensor]
    }
    writes = []
    heartbeats: dict[str, float] = {}
    for node, location in LOCATIONS.items():
        events: list[AggregateEvent | ReadingEvent | HeartbeatEvent] = []
        for (n, sensor, metric), buckets in series.items():
            if n != node:
                continue
            unit = units[(n, sensor, metric)]
            events.extend(
                AggregateEvent.model_construct(
                    id=f"agg-{sensor}-{metric}-{int(b.start)}",
                    type="aggregate",
                    ts=b.start + b.width,
                    sensor=sensor,
                    metric=metric,
                    unit=unit,
                    start=b.start,
                    end=b.start + b.width,
                    count=b.count,
                    min=b.min,
                    max=b.max,
                    mean=b.mean,
                    last=b.last,
                )
                for b in buckets
            )
        for k, flag in enumerate(ANOMALIES):
            if flag.node == node:
                events.append(
                    ReadingEvent(
                        id=f"flag-{k}",
                        type="reading",
                        ts=flag.ts,
                        sensor=flag.sensor,
                        metric=flag.metric,
                        unit=units[(flag.node, flag.sensor, flag.metric)],
                        value=flag.value,
                        severity=flag.severity,
                        score=0.99 if flag.severity == "critical" else 0.93,
                        reason=flag.reason,
                        baseline=Baseline(mean=flag.baseline_mean, std=flag.baseline_std),
                    )
                )
        beat = _heartbeat(node)
        events.append(beat)
        heartbeats[node] = beat.ts
        writes.append(EventsWrite(CLUSTER, node, location, events, received_at=beat.ts + 1))
    storage = SqliteStorage(path)
    storage.open_writer()
    try:
        for outcome in storage.apply_batch(writes):
            if isinstance(outcome, Exception):
                raise outcome
            if outcome.rejected:  # the ground truth must be what is stored, all of it
                raise ValueError(f"the store refused dataset items: {outcome.rejected[:3]}")
    finally:
        storage.close_writer()
        storage.close()
    return Dataset(
        path=path,
        now=NOW,
        tz=ZoneInfo("UTC"),
        cluster=CLUSTER,
        locations=LOCATIONS,
        units=MappingProxyType(units),
        series=MappingProxyType({k: tuple(v) for k, v in series.items()}),
        anomalies=ANOMALIES,
        heartbeats=MappingProxyType(heartbeats),
    )


__all__ = [  # the world's facts are imported from here too
    "ANOMALIES",
    "ANOMALY_COUNTS",
    "CLUSTER",
    "COARSE_STEP",
    "FINE_START",
    "HEARTBEAT_INTERVAL_S",
    "HIGH_LOAD_NODE",
    "HIGH_LOAD_SINCE",
    "HISTORY_START",
    "LATEST",
    "LOCATIONS",
    "NODE_SENSORS",
    "NOW",
    "OFFLINE_AT",
    "OFFLINE_NODE",
    "SEED",
    "SENSOR_METRICS",
    "STEP",
    "TODAY",
    "WAREHOUSE_YESTERDAY_OFFSET_C",
    "WORKLOADS",
    "YESTERDAY",
    "Bucket",
    "Dataset",
    "Flag",
    "SeriesId",
    "build",
    "generate",
]
