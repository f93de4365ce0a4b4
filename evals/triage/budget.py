"""False-alarm budget on normal data: a simulated week of the demo's ten series, with no fault.

Each demo node carries a DHT22 (temperature, humidity), a BMP280 (pressure), a PIR (motion), an
MH-Z19 (CO2) and its own health (CPU, memory, disk, load, SoC temperature): ten series. Here
they come from the simulated sources (`sim-node` for the health) at the reporter's default
cadence (one reading a minute), through the reporter's own triage and episode tracker, for
seven days per seed. Target: at most one warning episode per series per week, no critical.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from edge_reporter.episodes import EpisodeTracker
from edge_reporter.model import SensorSpec, Severity
from edge_reporter.sensors.descriptions import triage_config_for
from edge_reporter.sensors.simulated import SimulatedSource
from edge_reporter.triage import DetectorParams, SeriesTriage

DEMO_SENSORS = (
    ("sim-dht22", "dht22-1"),
    ("sim-pressure", "bmp280-1"),
    ("sim-motion", "pir-1"),
    ("sim-co2", "mhz19-1"),
    ("sim-node", "node"),
)
WEEK_S = 7 * 86_400.0
START = 1_764_115_200.0  # 2025-11-26T00:00:00Z
SEEDS = (1, 2, 3)  # the demo's three nodes


@dataclass(frozen=True, slots=True)
class SeriesWeek:
    """What one series raised over one simulated week."""

    seed: int
    series: str
    readings: int
    warning_episodes: int
    critical_episodes: int
    flags: int  # flagged readings (reminders included)
    rules: tuple[str, ...]  # the rule of each episode, in order


def simulate_week(
    seed: int, interval: float = 60.0, days: float = 7.0, detector: DetectorParams | None = None
) -> list[SeriesWeek]:
    """Run one node's ten series for `days` with no fault; count episodes per series.

    `detector`: other statistical parameters than the shipped ones (for the tuning search).
    """
    sources = [SimulatedSource(kind, name, seed=seed, origin=START) for kind, name in DEMO_SENSORS]
    triage: dict[str, SeriesTriage] = {}
    tracker = EpisodeTracker()
    readings: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    episodes: dict[tuple[str, float], tuple[str, str]] = {}  # (series, start) → rule, severity
    for step in range(int(days * 86_400 / interval)):
        now = START + step * interval
        for source in sources:
            for r in source.read(now):
                t = triage.get(r.series)
                if t is None:
                    spec = SensorSpec(r.sensor, r.metric, r.unit)
                    cfg = triage_config_for(spec)
                    if detector is not None:
                        cfg = dataclasses.replace(cfg, detector=detector)
                    t = triage[r.series] = SeriesTriage(cfg, unit=r.unit)
                verdict = t.update(r.ts, r.value)
                readings[r.series] += 1
                flags[r.series] += verdict.severity is not Severity.NORMAL
                for change in tracker.observe(r, verdict):
                    e = change.event
                    episodes[(r.series, float(e["start"]))] = (str(e["rule"]), str(e["severity"]))
    out = []
    for key in sorted(readings):
        found = [episodes[k] for k in sorted(episodes) if k[0] == key]
        levels = [level for _, level in found]
        out.append(
            SeriesWeek(
                seed,
                key,
                readings[key],
                levels.count("warning"),
                levels.count("critical"),
                flags[key],
                tuple(rule for rule, _ in found),
            )
        )
    return out


def budget(
    seeds: Sequence[int] = SEEDS,
    workers: int | None = None,
    detector: DetectorParams | None = None,
) -> list[SeriesWeek]:
    """Every series of every seed's week (one process per seed)."""
    workers = workers or min(len(seeds), os.cpu_count() or 1)
    week = partial(simulate_week, detector=detector)
    if workers <= 1:
        return [w for seed in seeds for w in week(seed)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [w for weeks in pool.map(week, seeds) for w in weeks]


def summary(weeks: Sequence[SeriesWeek]) -> dict[str, Any]:
    """The budget's figures, as stored in results.json."""
    worst = max(weeks, key=lambda w: (w.warning_episodes, w.flags))
    return {
        "series_weeks": len(weeks),
        "cadence_s": 60.0,
        "max_warning_episodes_per_series_week": worst.warning_episodes,
        "worst_series": f"{worst.series} (seed {worst.seed})",
        "warning_episodes": sum(w.warning_episodes for w in weeks),
        "critical_episodes": sum(w.critical_episodes for w in weeks),
        "flags": sum(w.flags for w in weeks),
        "readings": sum(w.readings for w in weeks),
        "episodes_by_series": {
            f"{w.series} (seed {w.seed})": list(w.rules) for w in weeks if w.rules
        },
    }


def within_budget(weeks: Sequence[SeriesWeek]) -> bool:
    """At most one warning episode per series-week and no critical at all."""
    return all(w.warning_episodes <= 1 and w.critical_episodes == 0 for w in weeks)
