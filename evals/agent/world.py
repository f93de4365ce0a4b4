"""The seeded homelab's facts, as data: its nodes and places, sensors, workloads, the current
value of every series (`LATEST`) and the flagged readings (`ANOMALIES`), with the times they are
anchored to. `dataset.py` (which describes the world in full) writes them through storage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from agent_bruno.wire import Severity

SEED = 20261126
CLUSTER = "homelab"
NOW = datetime(2026, 11, 26, 14, 20, tzinfo=UTC).timestamp()
TODAY = datetime(2026, 11, 26, tzinfo=UTC).timestamp()
YESTERDAY = TODAY - 86_400
HISTORY_START = datetime(2026, 10, 27, 15, tzinfo=UTC).timestamp()  # the first whole hour
FINE_START = YESTERDAY  # 5-minute aggregates from here on, hourly ones before
STEP = 300
COARSE_STEP = 3600
HEARTBEAT_INTERVAL_S = 60.0
OFFLINE_NODE = "pi-node-6"
OFFLINE_AT = datetime(2026, 11, 26, 11, 50, tzinfo=UTC).timestamp()
HIGH_LOAD_NODE = "pi-node-3"
HIGH_LOAD_SINCE = NOW - 40 * 60
WAREHOUSE_YESTERDAY_OFFSET_C = 2.0

LOCATIONS: Mapping[str, str] = MappingProxyType(
    {
        "pi-node-1": "warehouse",
        "pi-node-2": "warehouse",
        "pi-node-3": "server-room",
        "pi-node-4": "office",
        "pi-node-5": "greenhouse",
        "pi-node-6": "garage",
    }
)

# sensor → ((metric, unit), ...)
SENSOR_METRICS: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType(
    {
        "dht22-1": (("temperature", "°C"), ("humidity", "%")),
        "bmp280-1": (("pressure", "hPa"),),
        "mhz19-1": (("co2", "ppm"),),
        "pir-1": (("motion", "count"),),
        "node": (
            ("cpu_percent", "%"),
            ("memory_percent", "%"),
            ("disk_percent", "%"),
            ("load_1m", ""),
            ("soc_temp_c", "°C"),
        ),
    }
)

NODE_SENSORS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "pi-node-1": ("dht22-1", "bmp280-1", "node"),
        "pi-node-2": ("dht22-1", "pir-1", "node"),
        "pi-node-3": ("dht22-1", "bmp280-1", "mhz19-1", "node"),
        "pi-node-4": ("dht22-1", "mhz19-1", "pir-1", "node"),
        "pi-node-5": ("dht22-1", "bmp280-1", "node"),
        "pi-node-6": ("dht22-1", "node"),
    }
)

WORKLOADS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "pi-node-1": ("edge-reporter",),
        "pi-node-2": ("edge-reporter", "mosquitto"),
        "pi-node-3": ("edge-reporter", "frigate", "postgres"),
        "pi-node-4": ("edge-reporter",),
        "pi-node-5": ("edge-reporter", "irrigation"),
        "pi-node-6": ("edge-reporter",),
    }
)

# (node, sensor, metric) → the `last` of the series' final 5-minute aggregate (the current value;
# for pi-node-6, the value at 11:50 when it went offline). The node metrics are also what each
# node's latest heartbeat reports as its health.
LATEST: Mapping[tuple[str, str, str], float] = MappingProxyType(
    {
        ("pi-node-1", "dht22-1", "temperature"): 18.4,
        ("pi-node-2", "dht22-1", "temperature"): 18.9,
        ("pi-node-3", "dht22-1", "temperature"): 24.1,
        ("pi-node-4", "dht22-1", "temperature"): 21.6,
        ("pi-node-5", "dht22-1", "temperature"): 27.3,
        ("pi-node-6", "dht22-1", "temperature"): 8.2,
        ("pi-node-1", "dht22-1", "humidity"): 55.0,
        ("pi-node-2", "dht22-1", "humidity"): 56.4,
        ("pi-node-3", "dht22-1", "humidity"): 35.2,
        ("pi-node-4", "dht22-1", "humidity"): 41.3,
        ("pi-node-5", "dht22-1", "humidity"): 70.6,
        ("pi-node-6", "dht22-1", "humidity"): 62.8,
        ("pi-node-1", "bmp280-1", "pressure"): 1013.2,
        ("pi-node-3", "bmp280-1", "pressure"): 1012.8,
        ("pi-node-5", "bmp280-1", "pressure"): 1011.9,
        ("pi-node-3", "mhz19-1", "co2"): 612.0,
        ("pi-node-4", "mhz19-1", "co2"): 850.0,
        ("pi-node-2", "pir-1", "motion"): 3.0,
        ("pi-node-4", "pir-1", "motion"): 7.0,
        **{
            (node, "node", metric): value
            for node, values in {
                "pi-node-1": (18.5, 41.2, 52.0, 0.42, 48.2),
                "pi-node-2": (22.0, 38.7, 47.3, 0.55, 49.6),
                "pi-node-3": (94.0, 76.5, 68.9, 3.80, 71.0),
                "pi-node-4": (12.3, 33.0, 31.4, 0.21, 45.3),
                "pi-node-5": (27.1, 29.8, 22.6, 0.73, 52.7),
                "pi-node-6": (15.0, 35.5, 58.1, 0.30, 38.9),
            }.items()
            for metric, value in zip(
                ("cpu_percent", "memory_percent", "disk_percent", "load_1m", "soc_temp_c"),
                values,
                strict=True,
            )
        },
    }
)


def _ts(text: str) -> float:
    """Unix seconds of an ISO 8601 UTC time."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@dataclass(frozen=True, slots=True)
class Flag:
    """One flagged reading written as a `ReadingEvent`."""

    node: str
    sensor: str
    metric: str
    ts: float
    value: float
    severity: Severity
    reason: str
    baseline_mean: float
    baseline_std: float


# Times are UTC. Windows: the last 24 h start 2026-11-25T14:20; the last 7 days 2026-11-19T14:20.
ANOMALIES: tuple[Flag, ...] = (
    Flag("pi-node-1", "dht22-1", "temperature", _ts("2026-11-26T13:55:00"), 93.8, "critical",
         "spike: 93.8 °C is far outside the usual 17.6–19.4 °C", 18.5, 0.4),
    Flag("pi-node-2", "dht22-1", "humidity", _ts("2026-11-26T12:10:00"), 56.4, "warning",
         "stuck: humidity has read exactly 56.4 % for 30 minutes", 56.0, 1.2),
    Flag("pi-node-3", "node", "cpu_percent", _ts("2026-11-26T13:45:00"), 94.2, "warning",
         "cpu 94.2 % is well above its usual 20 %", 20.0, 6.0),
    Flag("pi-node-3", "node", "cpu_percent", _ts("2026-11-26T14:05:00"), 96.1, "warning",
         "cpu 96.1 % is well above its usual 20 %", 20.0, 6.0),
    Flag("pi-node-3", "node", "soc_temp_c", _ts("2026-11-26T14:10:00"), 72.4, "warning",
         "SoC temperature 72.4 °C rising with the cpu load", 50.0, 2.0),
    Flag("pi-node-4", "mhz19-1", "co2", _ts("2026-11-25T19:30:00"), 1480.0, "warning",
         "co2 1480 ppm: the office needs airing", 850.0, 90.0),
    Flag("pi-node-6", "dht22-1", "temperature", _ts("2026-11-26T11:48:00"), 3.1, "warning",
         "sudden drop to 3.1 °C (garage door open?)", 8.0, 0.9),
    Flag("pi-node-5", "dht22-1", "humidity", _ts("2026-11-26T08:15:00"), 91.5, "warning",
         "humidity 91.5 % after the irrigation cycle", 70.0, 3.0),
    Flag("pi-node-1", "bmp280-1", "pressure", _ts("2026-11-23T10:00:00"), 985.0, "warning",
         "pressure drop to 985.0 hPa", 1013.0, 2.0),
    Flag("pi-node-4", "pir-1", "motion", _ts("2026-11-22T03:12:00"), 48.0, "warning",
         "48 motion detections at night", 1.0, 1.5),
    Flag("pi-node-5", "dht22-1", "temperature", _ts("2026-11-21T13:30:00"), 41.7, "critical",
         "greenhouse overheating: 41.7 °C", 27.0, 1.5),
    Flag("pi-node-2", "dht22-1", "temperature", _ts("2026-11-24T16:40:00"), 31.0, "warning",
         "31.0 °C is above the warehouse's usual range", 18.6, 0.5),
    Flag("pi-node-3", "mhz19-1", "co2", _ts("2026-11-10T11:00:00"), 2100.0, "critical",
         "co2 2100 ppm in the server-room", 600.0, 60.0),
    Flag("pi-node-6", "dht22-1", "temperature", _ts("2026-11-05T06:00:00"), -4.5, "warning",
         "frost: -4.5 °C in the garage", 7.5, 2.0),
)  # fmt: skip

# Counts of ANOMALIES by window, by construction (checked by the tests).
ANOMALY_COUNTS: Mapping[str, int] = MappingProxyType(
    {"last_24h": 8, "today": 7, "today_critical": 1, "last_7d": 12, "last_7d_critical": 2,
     "last_30d": 14}
)  # fmt: skip
