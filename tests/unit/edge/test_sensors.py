"""Simulated sensors (daily cycle, faults, determinism) and node health from a recorded host."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from edge_reporter.sensors.faults import FaultKind, FaultSpec, parse_duration, parse_faults
from edge_reporter.sensors.node_health import NodeHealthSource, thermal_zone_reader
from edge_reporter.sensors.simulated import SimulatedSource

DAY = 1_764_115_200.0  # 2025-11-26T00:00:00Z
HOUR = 3600.0


def series(source: SimulatedSource, metric: str, times: list[float]) -> list[float | None]:
    return [r.value for t in times for r in source.read(t) if r.metric == metric]


def dht(*faults: str, seed: int = 1) -> SimulatedSource:
    return SimulatedSource(
        "sim-dht22", "dht22-1", seed=seed, origin=DAY, faults=parse_faults(",".join(faults))
    )


def test_specs_declare_units() -> None:
    assert [(s.metric, s.unit) for s in dht().specs()] == [("temperature", "°C"), ("humidity", "%")]


def test_temperature_follows_a_daily_cycle() -> None:
    src = dht()
    afternoon = series(src, "temperature", [DAY + 15 * HOUR + i * 60 for i in range(30)])
    night = series(src, "temperature", [DAY + 86400 + 3 * HOUR + i * 60 for i in range(30)])
    assert statistics.mean(v for v in afternoon if v is not None) > 23
    assert statistics.mean(v for v in night if v is not None) < 19


@pytest.mark.parametrize(
    ("kind", "peak_hour", "trough_hour"), [("sim-co2", 13, 3), ("sim-motion", 13, 3)]
)
def test_occupancy_driven_sensors_are_busier_by_day(
    kind: str, peak_hour: int, trough_hour: int
) -> None:
    src = SimulatedSource(kind, "s", seed=3, origin=DAY)
    metric = src.specs()[0].metric
    day = series(src, metric, [DAY + peak_hour * HOUR + i * 60 for i in range(60)])
    night = series(src, metric, [DAY + trough_hour * HOUR + i * 60 for i in range(60)])
    assert statistics.mean(v or 0 for v in day) > 2 * statistics.mean(v or 0 for v in night)


def test_same_seed_same_values_other_seed_other_values() -> None:
    times = [DAY + i * 60 for i in range(50)]
    assert series(dht(seed=7), "humidity", times) == series(dht(seed=7), "humidity", times)
    assert series(dht(seed=7), "humidity", times) != series(dht(seed=8), "humidity", times)


def test_noise_is_present() -> None:
    values = series(dht(), "temperature", [DAY + i for i in range(60)])
    assert len(set(values)) > 3


def with_and_without(
    fault: str, times: list[float]
) -> tuple[list[float | None], list[float | None]]:
    return series(dht(fault), "temperature", times), series(dht(), "temperature", times)


TIMES = [DAY + i * 60 for i in range(30)]


def test_spike_hits_one_reading() -> None:
    faulty, clean = with_and_without("dht22-1/temperature:spike@600:+15", TIMES)
    diffs = [round((f or 0) - (c or 0), 1) for f, c in zip(faulty, clean, strict=True)]
    assert diffs[10] == 15.0
    assert sum(1 for d in diffs if d) == 1


def test_step_shifts_for_its_duration() -> None:
    faulty, clean = with_and_without("dht22-1/temperature:step@5m:-4:for10m", TIMES)
    diffs = [round((f or 0) - (c or 0), 1) for f, c in zip(faulty, clean, strict=True)]
    assert diffs[:5] == [0.0] * 5
    assert diffs[5:15] == [-4.0] * 10
    assert diffs[15:] == [0.0] * 15


def test_drift_grows_per_hour() -> None:
    times = [DAY + i * 900 for i in range(9)]
    faulty, clean = with_and_without("dht22-1/temperature:drift@0:+2", times)
    diffs = [round((f or 0) - (c or 0), 1) for f, c in zip(faulty, clean, strict=True)]
    assert diffs == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]


def test_stuck_repeats_the_last_value() -> None:
    faulty, _ = with_and_without("dht22-1/temperature:stuck@5m:for10m", TIMES)
    assert len(set(faulty[4:15])) == 1
    assert len(set(faulty[15:])) > 1


def test_dropout_reads_none_not_zero() -> None:
    faulty, _ = with_and_without("dht22-1/temperature:dropout@5m:for2m", TIMES)
    assert faulty[5:7] == [None, None]
    assert None not in faulty[:5] + faulty[7:]


def test_faults_only_touch_their_series() -> None:
    times = TIMES[:12]
    assert series(dht("dht22-1/temperature:step@0:+9"), "humidity", times) == series(
        dht(), "humidity", times
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_fault_syntax() -> None:
    assert parse_faults("bmp280-1/pressure:drift@2h:+3:for1h") == (
        FaultSpec("bmp280-1", "pressure", FaultKind.DRIFT, 7200, 3.0, 3600),
    )


@pytest.fixture
def host(tmp_path: Path) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "stat").write_text("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n")
    (proc / "meminfo").write_text(
        "MemTotal:  4000000 kB\nMemFree: 1000 kB\nMemAvailable: 3000000 kB\n"
    )
    (proc / "loadavg").write_text("0.42 0.30 0.20 1/200 1234\n")
    (proc / "uptime").write_text("86400.55 300000.00\n")
    zone = tmp_path / "sys" / "class" / "thermal" / "thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "type").write_text("cpu-thermal\n")
    (zone / "temp").write_text("48312\n")
    return tmp_path


def test_node_health_from_a_recorded_host(host: Path) -> None:
    src = NodeHealthSource(proc_root=host / "proc", sys_root=host / "sys", disk_path=host)
    (host / "proc" / "stat").write_text("cpu  150 0 150 900 0 0 0 0 0 0\n")  # 100 busy of 200
    values = {r.metric: r.value for r in src.read(DAY)}
    assert values["cpu_percent"] == 50.0
    assert values["memory_percent"] == 25.0
    assert values["load_1m"] == 0.42
    assert values["soc_temp_c"] == 48.3
    assert values["disk_percent"] is not None
    assert 0 <= values["disk_percent"] <= 100
    assert src.health()["uptime_s"] == 86400.55


def test_node_health_without_soc_sensor_has_no_soc_series(host: Path) -> None:
    src = NodeHealthSource(
        proc_root=host / "proc", sys_root=host / "nothing", detect_soc_temp=False
    )
    assert "soc_temp_c" not in [s.metric for s in src.specs()]


def test_unreadable_host_values_are_none(tmp_path: Path) -> None:
    src = NodeHealthSource(
        proc_root=tmp_path, sys_root=tmp_path, disk_path=tmp_path / "gone", soc_temp=lambda: None
    )
    values = {r.metric: r.value for r in src.read(DAY)}
    assert values == dict.fromkeys(values)
    assert set(values) == {"cpu_percent", "memory_percent", "disk_percent", "load_1m", "soc_temp_c"}


def test_garbled_thermal_zone_reads_none(host: Path) -> None:
    (host / "sys" / "class" / "thermal" / "thermal_zone0" / "temp").write_text("n/a\n")
    reader = thermal_zone_reader(host / "sys")
    assert reader is not None
    assert reader() is None
