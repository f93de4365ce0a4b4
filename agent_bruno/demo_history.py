"""The demo's believable past: incidents people recorded before today, with their root causes
and the anomaly episodes that were part of them, as a knowledge file (`/v1/graph/import`).

- warehouse-b, 9 days ago: an HVAC malfunction warmed it 5.8σ for 40 minutes (resolved).
- warehouse-b, 3 days ago: the loading-dock door left open dropped the humidity (resolved).
- server-room, 12 days ago: camera-5's video processing overloaded pi-node-3 (resolved by
  moving the heavy part off the Pi; the recommendation the agent repeats when it recurs).
"""

from __future__ import annotations

import hashlib
from typing import Any

DAY = 86_400.0
CAMERA_ADVICE = (
    "move camera-5's video processing to the Forge GPU cluster and keep only light "
    "preprocessing on the Pi"
)


def _episode(
    name: str,
    node: str,
    location: str,
    sensor: str,
    metric: str,
    unit: str,
    start: float,
    minutes: float,
    peak: float,
    sigma: float,
    rule: str,
) -> dict[str, Any]:
    end = start + minutes * 60
    return {
        "id": "ep-demo-" + hashlib.blake2b(name.encode(), digest_size=6).hexdigest(),
        "cluster": "homelab",
        "node": node,
        "location": location,
        "sensor": sensor,
        "metric": metric,
        "unit": unit,
        "kind": "process_anomaly",
        "rule": rule,
        "severity": "critical",
        "started": start,
        "ended": end,
        "last": end,
        "flags": 4,
        "peak_value": peak,
        "peak_sigma": sigma,
        "reason": f"{abs(sigma):.1f}σ {'above' if sigma > 0 else 'below'} the baseline",
        "updated": end,
    }


def _incident(
    name: str,
    location: str,
    started: float,
    title: str,
    cause: str,
    resolution: str,
    recommendation: str | None,
    by: str,
    episodes: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "id": "inc-demo-" + hashlib.blake2b(name.encode(), digest_size=6).hexdigest(),
        "title": title,
        "location": location,
        "started": started,
        "ended": started + 3600,
        "status": "resolved",
        "summary": "",
        "created_by": by,
        "created_at": started + 7200,
        "updated_by": by,
        "updated_at": started + 7200,
        "root_causes": [
            {
                "id": "rc-" + "-".join(cause.lower().replace("'", "").split()),
                "description": cause,
                "resolution": resolution,
                "recommendation": recommendation,
                "confirmed_by": by,
                "confirmed_at": started + 7200,
            }
        ],
        "episodes": episodes,
    }


def history(now: float) -> dict[str, Any]:
    """The knowledge file of the demo's past, relative to `now` (afternoon incidents)."""
    day = now - now % DAY
    hvac = day - 9 * DAY + 14 * 3600 + 23 * 60
    door = day - 3 * DAY + 10 * 3600 + 5 * 60
    camera = day - 12 * DAY + 19 * 3600 + 40 * 60
    return {
        "format": "agent-bruno-knowledge",
        "version": 1,
        "incidents": [
            _incident(
                "hvac", "warehouse-b", hvac, "warehouse-b overheating", "HVAC malfunction",
                "HVAC compressor relay replaced", "check the HVAC unit first when warehouse-b "
                "warms fast", "maria",
                [_episode("hvac-t", "pi-node-2", "warehouse-b", "dht22-1", "temperature", "°C",
                          hvac - 180, 40, 29.8, 5.8, "spike")],
            ),
            _incident(
                "door", "warehouse-b", door, "warehouse-b humidity drop",
                "loading-dock door left open", "door closed; a door sensor was ordered", None,
                "tom",
                [_episode("door-h", "pi-node-2", "warehouse-b", "dht22-1", "humidity", "%",
                          door - 120, 55, 31.0, -4.2, "level_shift")],
            ),
            _incident(
                "camera", "server-room", camera, "pi-node-3 overloaded",
                "camera-5 video processing on the Pi",
                "video processing moved off the Pi for the night", CAMERA_ADVICE, "maria",
                [_episode("camera-cpu", "pi-node-3", "server-room", "node", "cpu_percent", "%",
                          camera - 300, 90, 97.0, 3.4, "level_shift")],
            ),
        ],
    }  # fmt: skip
