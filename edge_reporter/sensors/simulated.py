"""Simulated sensors with daily cycles, noise and injectable faults, deterministic per SEED.

The daily cycle follows the UTC hour of `now` (the reporter's pods run in UTC).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from edge_reporter.model import Reading, SensorSpec
from edge_reporter.sensors.descriptions import BMP280, DHT22, MHZ19, NODE, PIR, MetricDescription
from edge_reporter.sensors.faults import FaultKind, FaultSpec


def daily(hour: float, peak_hour: float) -> float:
    """A 24 h cosine: 1 at `peak_hour`, -1 twelve hours later."""
    return math.cos(2 * math.pi * (hour - peak_hour) / 24)


def occupancy(hour: float) -> float:
    """How busy the place is, 0..1: a bump over working hours (08-18 UTC)."""
    return math.sin(math.pi * (hour - 8) / 10) if 8 <= hour <= 18 else 0.0


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@dataclass(frozen=True, slots=True)
class SimProfile:
    """How one simulated metric behaves: its true value by hour, noise, rounding and range."""

    description: MetricDescription
    truth: Callable[[float, random.Random], float]
    noise: float
    decimals: int
    lo: float
    hi: float


PROFILES: Mapping[str, tuple[SimProfile, ...]] = {
    "sim-dht22": (
        SimProfile(DHT22[0], lambda h, _: 21.0 + 3.0 * daily(h, 15), 0.15, 1, -40, 80),
        SimProfile(DHT22[1], lambda h, _: 50.0 - 8.0 * daily(h, 15), 0.8, 1, 0, 100),
    ),
    "sim-pressure": (
        # Semi-diurnal atmospheric tide: peaks near 10:00 and 22:00.
        SimProfile(BMP280[0], lambda h, _: 1013.0 + 1.2 * daily(2 * h, 20), 0.08, 2, 300, 1100),
    ),
    "sim-motion": (
        SimProfile(PIR[0], lambda h, rng: _poisson(rng, 0.2 + 6.0 * occupancy(h)), 0, 0, 0, 1e9),
    ),
    "sim-co2": (SimProfile(MHZ19[0], lambda h, _: 430.0 + 450.0 * occupancy(h), 12, 0, 400, 5000),),
    # A quiet Pi's own health, for benchmarks and evals that need a whole node without a host:
    # CPU busier in working hours, memory and disk nearly flat, load and SoC heat following CPU.
    "sim-node": (
        SimProfile(NODE[0], lambda h, _: 12.0 + 10.0 * occupancy(h), 3.0, 1, 0, 100),
        SimProfile(NODE[1], lambda h, _: 41.0 + 3.0 * occupancy(h), 0.3, 1, 0, 100),
        SimProfile(NODE[2], lambda h, _: 55.0 + 0.5 * daily(h, 3), 0.02, 1, 0, 100),
        SimProfile(NODE[3], lambda h, _: 0.3 + 0.5 * occupancy(h), 0.15, 2, 0, 64),
        SimProfile(NODE[4], lambda h, _: 46.0 + 4.0 * occupancy(h), 0.6, 1, 0, 100),
    ),
}


class _Series:
    """One simulated series with its RNG and fault state."""

    def __init__(self, sensor: str, profile: SimProfile, seed: int, faults: list[FaultSpec]):
        self.sensor = sensor
        self.profile = profile
        # String seeds hash with SHA-512: stable across processes, unlike hash().
        self.rng = random.Random(f"{seed}:{sensor}/{profile.description.metric}")
        self.faults = faults
        self.spiked: set[int] = set()
        self.frozen: dict[int, float | None] = {}
        self.last: float | None = None

    def read(self, now: float, elapsed: float) -> float | None:
        p = self.profile
        hour = (now % 86400) / 3600
        value: float | None = p.truth(hour, self.rng)
        if p.noise and value is not None:
            value = min(p.hi, max(p.lo, value + self.rng.gauss(0.0, p.noise)))
        for i, fault in enumerate(self.faults):
            value = self._apply(i, fault, value, elapsed)
        if value is not None:
            value = round(value, p.decimals) if p.decimals else float(round(value))
            self.last = value
        return value

    def _apply(self, i: int, f: FaultSpec, value: float | None, elapsed: float) -> float | None:
        if f.kind is FaultKind.SPIKE and f.duration is None:
            if elapsed < f.start or i in self.spiked:
                return value
            self.spiked.add(i)
            return None if value is None else value + f.magnitude
        if not f.active(elapsed):
            return value
        if f.kind is FaultKind.DROPOUT:
            return None
        if f.kind is FaultKind.STUCK:
            if i not in self.frozen:
                self.frozen[i] = self.last if self.last is not None else value
            return self.frozen[i]
        if value is None:
            return None
        if f.kind is FaultKind.DRIFT:
            return value + f.magnitude * (elapsed - f.start) / 3600
        return value + f.magnitude  # step, or a spike with a duration


class SimulatedSource:
    """A simulated sensor of one kind (`sim-dht22`, `sim-pressure`, `sim-motion`, `sim-co2`).

    Fault offsets count from `origin` (the reporter's start, or the benchmark's day start).
    """

    def __init__(
        self, kind: str, name: str, *, seed: int, origin: float, faults: Iterable[FaultSpec] = ()
    ) -> None:
        if kind not in PROFILES:
            raise ValueError(f"kind={kind!r}: expected one of {sorted(PROFILES)}")
        self._name = name
        self._origin = origin
        mine = [f for f in faults if f.sensor == name]
        self._series = [
            _Series(name, p, seed, [f for f in mine if f.metric == p.description.metric])
            for p in PROFILES[kind]
        ]

    def specs(self) -> list[SensorSpec]:
        """The series this sensor produces."""
        return [s.profile.description.spec(self._name) for s in self._series]

    def read(self, now: float) -> list[Reading]:
        """One reading per metric at `now`, faults applied."""
        elapsed = now - self._origin
        return [
            Reading(now, self._name, d.metric, d.unit, s.read(now, elapsed))
            for s in self._series
            for d in (s.profile.description,)
        ]
