"""Health of the Linux host the reporter runs on, as ordinary series.

CPU % comes from /proc/stat deltas between reads, memory from /proc/meminfo, disk from
statvfs of the data directory, load and uptime from /proc, SoC temperature from
/sys/class/thermal or `vcgencmd measure_temp`. A value the host cannot give is None.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from edge_reporter.model import Reading, SensorSpec
from edge_reporter.sensors.descriptions import NODE

log = logging.getLogger(__name__)

TempReader = Callable[[], float | None]
_VCGENCMD = re.compile(r"temp=(-?\d+(?:\.\d+)?)")


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def thermal_zone_reader(sys_root: Path) -> TempReader | None:
    """A reader of the SoC thermal zone (cpu/soc type preferred), or None when there is none."""
    zones = sorted((sys_root / "class" / "thermal").glob("thermal_zone*"))
    zones = [z for z in zones if (z / "temp").is_file()]
    if not zones:
        return None
    preferred = [z for z in zones if any(k in (_read(z / "type") or "") for k in ("cpu", "soc"))]
    path = (preferred or zones)[0] / "temp"

    def read() -> float | None:
        text = _read(path)
        try:
            return None if text is None else round(int(text.strip()) / 1000, 1)
        except ValueError:
            return None

    return read


def vcgencmd_reader() -> TempReader | None:
    """A reader using `vcgencmd measure_temp` (Raspberry Pi OS), or None when not installed."""
    exe = shutil.which("vcgencmd")
    if exe is None:
        return None

    def read() -> float | None:
        # Only used when the kernel exposes no thermal zone. The sampling step runs on the
        # reporter's event loop, so a hung firmware call must not eat the 2 s critical budget.
        try:
            out = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [exe, "measure_temp"], capture_output=True, text=True, timeout=0.5, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        match = _VCGENCMD.search(out)
        return None if match is None else float(match.group(1))

    return read


class NodeHealthSource:
    """CPU, memory, disk, load and SoC temperature of this host, plus uptime for heartbeats."""

    def __init__(
        self,
        name: str = "node",
        *,
        proc_root: Path = Path("/proc"),
        sys_root: Path = Path("/sys"),
        disk_path: Path = Path("/"),
        soc_temp: TempReader | None = None,
        detect_soc_temp: bool = True,
    ) -> None:
        self._name = name
        self._proc = proc_root
        self._disk = disk_path
        if soc_temp is None and detect_soc_temp:
            soc_temp = thermal_zone_reader(sys_root) or vcgencmd_reader()
        self._soc_temp = soc_temp
        # No SoC sensor at all: no series, rather than a series of endless dropouts.
        self._descriptions = [d for d in NODE if d.metric != "soc_temp_c" or soc_temp]
        self._cpu_prev = self._cpu_times()
        self._cpu_last: float | None = None
        self._last: dict[str, float | None] = {}

    def specs(self) -> list[SensorSpec]:
        """The host series this source produces."""
        return [d.spec(self._name) for d in self._descriptions]

    def read(self, now: float) -> list[Reading]:
        """Sample the host now."""
        values: dict[str, float | None] = {
            "cpu_percent": self._cpu_percent(),
            "memory_percent": self._memory_percent(),
            "disk_percent": self._disk_percent(),
            "load_1m": self._first_float("loadavg"),
            "soc_temp_c": self._soc_temp() if self._soc_temp else None,
        }
        self._last = {**values, "uptime_s": self._first_float("uptime")}
        return [
            Reading(now, self._name, d.metric, d.unit, values[d.metric]) for d in self._descriptions
        ]

    def health(self) -> dict[str, float | None]:
        """The last sample as a heartbeat `health` object (with uptime)."""
        return dict(self._last)

    def _cpu_times(self) -> tuple[int, int] | None:
        text = _read(self._proc / "stat")
        if not text or not text.startswith("cpu "):
            return None
        try:
            fields = [int(x) for x in text.split("\n", 1)[0].split()[1:9]]
        except ValueError:
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return idle, sum(fields)

    def _cpu_percent(self) -> float | None:
        current = self._cpu_times()
        previous, self._cpu_prev = self._cpu_prev, current
        if current is None or previous is None:
            return None
        total = current[1] - previous[1]
        if total <= 0:  # read again within one clock tick: nothing new to tell
            self._cpu_prev = previous
            return self._cpu_last
        busy = total - (current[0] - previous[0])
        self._cpu_last = round(min(100.0, max(0.0, 100.0 * busy / total)), 1)
        return self._cpu_last

    def _memory_percent(self) -> float | None:
        text = _read(self._proc / "meminfo")
        if text is None:
            return None
        info: dict[str, int] = {}
        for line in text.splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                info[key] = int(parts[0])
        total, available = info.get("MemTotal"), info.get("MemAvailable")
        if not total or available is None:
            return None
        return round(100.0 * (total - available) / total, 1)

    def _disk_percent(self) -> float | None:
        try:
            st = os.statvfs(self._disk)
        except OSError:
            return None
        used = st.f_blocks - st.f_bfree
        usable = used + st.f_bavail
        return None if usable <= 0 else round(100.0 * used / usable, 1)

    def _first_float(self, name: str) -> float | None:
        text = _read(self._proc / name)
        try:
            return None if not text else round(float(text.split()[0]), 2)
        except ValueError:
            return None
