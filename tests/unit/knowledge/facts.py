"""Believable facts for graph tests: a warehouse node running a camera pipeline."""

from __future__ import annotations

from agent_bruno.knowledge.model import EpisodeFact, NodeFact, SeriesFact, WorkloadFact

T0 = 1_764_000_000.0  # 2025-11-24 16:00 UTC
HOUR = 3600.0
DAY = 86_400.0


def pi3(ts: float = T0, location: str = "warehouse-b", **health: float | None) -> NodeFact:
    """pi-node-3 with a DHT22 and camera-5's video processing hogging the CPU."""
    return NodeFact(
        node="pi-node-3",
        cluster="homelab",
        location=location,
        ts=ts,
        interval_s=300.0,
        health={"cpu_percent": 94.0, "memory_percent": 71.0, "load_1m": 3.8, **health},
        sensors=(
            SeriesFact("dht22-1", "temperature", "°C"),
            SeriesFact("dht22-1", "humidity", "%"),
        ),
        workloads=(
            WorkloadFact("camera-5-video", "vision", "pod", "ffmpeg:6", 81.5, 610.0, 500, 512),
            WorkloadFact("edge-reporter", "agent-bruno", "pod", "edge:0.1", 1.5, 38.0, 100, 128),
        ),
    )


def episode(
    eid: str,
    started: float,
    *,
    sigma: float = 5.0,
    metric: str = "temperature",
    location: str = "warehouse-b",
    minutes: float = 20.0,
    ended: bool = True,
    kind: str = "process_anomaly",
    node: str = "pi-node-3",
    sensor: str = "dht22-1",
) -> EpisodeFact:
    """A temperature episode of the DHT22 on pi-node-3."""
    last = started + minutes * 60
    return EpisodeFact(
        id=eid,
        cluster="homelab",
        node=node,
        location=location,
        sensor=sensor,
        metric=metric,
        unit="°C" if metric == "temperature" else "%",
        kind=kind,
        rule="score",
        severity="critical",
        started=started,
        ended=last if ended else None,
        last=last,
        flags=3,
        peak_value=31.2 if sigma > 0 else 12.0,
        peak_sigma=sigma,
        reason=f"{sigma:+.1f}σ from the last hour's baseline",
        updated=last,
    )
