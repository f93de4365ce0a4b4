"""What runs on this node, for the heartbeat: pods from the Kubernetes API, else top processes.

- In a cluster (`KUBERNETES_SERVICE_HOST` set, a service account mounted, `NODE_NAME` from the
  downward API): the pods on this node (`fieldSelector=spec.nodeName=…`, read-only RBAC in the
  manifests) with namespace, image and requests, plus each pod's CPU and memory from the
  metrics API where it answers (k3s ships metrics-server). stdlib `urllib` only: no Kubernetes
  client library on a Pi.
- Outside a cluster: the busiest processes from `/proc` (CPU over the interval, resident memory).
- `WORKLOADS` names fixed workloads instead (`name[@namespace][=cpu%]`): the demo's simulated
  camera pipeline on pi-node-3 is one (`camera-5-video@vision=82`).

Every source returns plain dicts (the wire's workload objects); a source that fails returns
what it had (or nothing) and says why once in the log, never stopping the heartbeat.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import ssl
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TOP_PROCESSES = 8
# The agent's name rule (letters, digits, space and _ . - : / # + @ ( ), starting with a letter
# or digit): a process sets its own command name, so anything else in it becomes `_`.
_NOT_NAME = re.compile(r"[^\w .:/#+@()\-]")
Workload = dict[str, Any]


class WorkloadSource(Protocol):
    """Something that says what runs on this node now."""

    def snapshot(self) -> list[Workload]:
        """The workloads, busiest first where use is known."""


# --- Kubernetes quantities and API responses (pure) ------------------------------------

_CPU_SUFFIX = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0}
_MEM_SUFFIX = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
    "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "": 1.0,
}  # fmt: skip


def cpu_cores(quantity: str | None) -> float | None:
    """A CPU quantity ("500m", "2", "123456n") in cores; None if absent or unreadable."""
    if not quantity:
        return None
    text = quantity.strip()
    suffix = text[-1] if text[-1:].isalpha() else ""
    try:
        return float(text[: len(text) - len(suffix)]) * _CPU_SUFFIX[suffix]
    except (KeyError, ValueError):
        return None


def memory_mib(quantity: str | None) -> float | None:
    """A memory quantity ("256Mi", "1Gi", "134217728", "500M") in MiB; None if unreadable."""
    if not quantity:
        return None
    text = quantity.strip()
    for suffix in sorted(_MEM_SUFFIX, key=len, reverse=True):
        if suffix and text.endswith(suffix):
            number, factor = text[: -len(suffix)], _MEM_SUFFIX[suffix]
            break
    else:
        number, factor = text, 1.0
    try:
        return float(number) * factor / 2**20
    except ValueError:
        return None


def _sum(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def pods_from_list(body: Mapping[str, Any], node: str) -> list[Workload]:
    """Running pods of a `PodList` on `node`: name, namespace, image(s), requests."""
    found = []
    for item in body.get("items", []):
        meta, spec = item.get("metadata", {}), item.get("spec", {})
        if spec.get("nodeName") != node or item.get("status", {}).get("phase") != "Running":
            continue
        containers = spec.get("containers", [])
        requests = [c.get("resources", {}).get("requests", {}) for c in containers]
        cpu = _sum([cpu_cores(r.get("cpu")) for r in requests])
        mem = _sum([memory_mib(r.get("memory")) for r in requests])
        found.append(
            {
                "name": str(meta.get("name", "")),
                "namespace": str(meta.get("namespace", "")),
                "kind": "pod",
                "image": ",".join(str(c.get("image", "")) for c in containers)[:256],
                "cpu_request_m": None if cpu is None else round(cpu * 1000, 1),
                "memory_request_mib": None if mem is None else round(mem, 1),
            }
        )
    return [p for p in found if p["name"]]


def usage_from_metrics(body: Mapping[str, Any]) -> dict[tuple[str, str], tuple[float, float]]:
    """(namespace, pod) → (cores, MiB) from a metrics.k8s.io `PodMetricsList`."""
    out = {}
    for item in body.get("items", []):
        meta = item.get("metadata", {})
        cores = _sum([cpu_cores(c.get("usage", {}).get("cpu")) for c in item.get("containers", [])])
        mem = _sum(
            [memory_mib(c.get("usage", {}).get("memory")) for c in item.get("containers", [])]
        )
        if cores is not None or mem is not None:
            out[(str(meta.get("namespace", "")), str(meta.get("name", "")))] = (
                cores or 0.0,
                mem or 0.0,
            )
    return out


def with_usage(
    pods: list[Workload], usage: Mapping[tuple[str, str], tuple[float, float]], cpus: int
) -> list[Workload]:
    """Pods with their CPU (percent of this node) and memory use, busiest first."""
    for p in pods:
        use = usage.get((p["namespace"], p["name"]))
        if use is not None:
            p["cpu_percent"] = round(100.0 * use[0] / max(1, cpus), 1)
            p["memory_mib"] = round(use[1], 1)
    return sorted(pods, key=lambda p: (-(p.get("cpu_percent") or -1.0), p["name"]))


# --- sources ---------------------------------------------------------------------------

Fetch = Callable[[str], Mapping[str, Any]]


class _Once:
    """Log each distinct problem once."""

    def __init__(self) -> None:
        self.last: str | None = None

    def warn(self, problem: str) -> None:
        if problem != self.last:
            log.warning("%s", problem)
        self.last = problem

    def ok(self) -> None:
        self.last = None


@dataclass
class KubernetesPods:
    """Pods on `node` from the API server, with use from the metrics API when it answers."""

    node: str
    fetch: Fetch
    cpus: int = os.cpu_count() or 1

    def __post_init__(self) -> None:
        self._log = _Once()
        self._last: list[Workload] = []

    def snapshot(self) -> list[Workload]:
        """The pods now (the last good list if the API does not answer)."""
        selector = urllib.parse.quote(f"spec.nodeName={self.node}")
        try:
            pods = pods_from_list(self.fetch(f"/api/v1/pods?fieldSelector={selector}"), self.node)
        except (OSError, ValueError) as exc:
            self._log.warn(f"workloads: cannot list the pods of {self.node}: {exc}")
            return self._last
        try:
            usage = usage_from_metrics(self.fetch("/apis/metrics.k8s.io/v1beta1/pods"))
        except (OSError, ValueError):
            usage = {}  # no metrics-server: requests only
        self._log.ok()
        self._last = with_usage(pods, usage, self.cpus)
        return self._last


def api_fetcher(
    host: str, port: str, account: Path = SERVICE_ACCOUNT, timeout: float = 5.0
) -> Fetch:
    """GET JSON from the API server with the pod's service account (token and CA)."""
    context = ssl.create_default_context(cafile=str(account / "ca.crt"))
    base = f"https://{host}:{port}"

    def fetch(path: str) -> Mapping[str, Any]:
        token = (account / "token").read_text().strip()  # re-read: the kubelet rotates it
        request = urllib.request.Request(  # noqa: S310 - https to the in-cluster API only
            base + path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout, context=context) as resp:  # noqa: S310
            data = json.loads(resp.read())
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object")
        return data

    return fetch


def parse_stat(text: str) -> tuple[str, int] | None:
    """(command, utime + stime in clock ticks) from `/proc/<pid>/stat`; None if unreadable."""
    open_, close = text.find("("), text.rfind(")")
    if open_ < 0 or close < 0:
        return None
    fields = text[close + 2 :].split()
    try:
        return text[open_ + 1 : close], int(fields[11]) + int(fields[12])
    except (IndexError, ValueError):
        return None


def process_name(command: str, pid: int) -> str:
    """`command (pid N)`, the command cut to what the agent accepts in a name."""
    clean = _NOT_NAME.sub("_", command).lstrip(" _.:/#+@()-")[:64].rstrip()
    return f"{clean or 'process'} (pid {pid})"


class TopProcesses:
    """The busiest processes, CPU measured between two snapshots (the first one sees none)."""

    def __init__(self, proc: Path = Path("/proc"), clock: Callable[[], float] = time.monotonic):
        self.proc = proc
        self.clock = clock
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.page_mib = (os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096) / 2**20
        self.cpus = os.cpu_count() or 1
        self._prev: dict[int, int] = {}
        self._prev_t: float | None = None

    def snapshot(self) -> list[Workload]:
        """Up to TOP_PROCESSES processes by CPU since the last snapshot."""
        now = self.clock()
        ticks: dict[int, tuple[str, int, float]] = {}
        for entry in self.proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = parse_stat((entry / "stat").read_text())
                rss_pages = int((entry / "statm").read_text().split()[1])
            except (OSError, ValueError, IndexError):
                continue  # gone, or not ours to read
            if stat is not None:
                ticks[int(entry.name)] = (stat[0], stat[1], rss_pages * self.page_mib)
        elapsed = None if self._prev_t is None else now - self._prev_t
        rows: list[tuple[str, int, float | None, float]] = []
        for pid, (name, total, rss) in ticks.items():
            cpu = None
            if elapsed and pid in self._prev:
                cpu = 100.0 * (total - self._prev[pid]) / self.tick / elapsed / self.cpus
            rows.append((name, pid, cpu, rss))
        self._prev = {pid: t[1] for pid, t in ticks.items()}
        self._prev_t = now
        rows.sort(key=lambda r: (-(r[2] or 0.0), -r[3]))
        return [
            {
                "name": process_name(name, pid),
                "kind": "process",
                "cpu_percent": None if cpu is None else round(cpu, 1),
                "memory_mib": round(rss, 1),
            }
            for name, pid, cpu, rss in rows[:TOP_PROCESSES]
        ]


def parse_workloads(text: str) -> list[Workload]:
    """`WORKLOADS`: `name[@namespace][=cpu%]`, comma-separated (a bare name has no use)."""
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        head, _, cpu = part.partition("=")
        name, _, namespace = head.partition("@")
        item: Workload = {"name": name.strip(), "kind": "pod" if namespace else "process"}
        if namespace:
            item["namespace"] = namespace.strip()
        if cpu:
            try:
                item["cpu_percent"] = float(cpu.rstrip("%"))
            except ValueError:
                raise ValueError(
                    f"WORKLOADS entry {part!r}: {cpu!r} is not a CPU percentage; "
                    "write e.g. camera-5-video@vision=82"
                ) from None
        out.append(item)
    return out


class FixedWorkloads:
    """Workloads named in the configuration; a CPU share given is simulated with a little noise
    (the demo's camera pipeline), so answers see a busy, slightly varying node."""

    def __init__(self, items: list[Workload], rng: random.Random | None = None) -> None:
        self.items = items
        self.rng = rng or random.Random(5)

    def snapshot(self) -> list[Workload]:
        """The configured workloads with their (simulated) use."""
        out = []
        for item in self.items:
            w = dict(item)
            if w.get("cpu_percent") is not None:
                w["cpu_percent"] = round(
                    max(0.0, min(100.0, w["cpu_percent"] + self.rng.uniform(-3, 3))), 1
                )
            out.append(w)
        return sorted(out, key=lambda w: -(w.get("cpu_percent") or -1.0))

    def simulated_cpu(self) -> float:
        """The CPU share the configured workloads claim (0 when none claims one)."""
        return sum(float(w.get("cpu_percent") or 0.0) for w in self.items)


def build_source(
    workloads: str,
    node: str,
    kubernetes_api: tuple[str, str] | None,
    account: Path = SERVICE_ACCOUNT,
) -> WorkloadSource:
    """Configured workloads if `WORKLOADS` names some, else the node's pods in a cluster (API
    server and service account present), else the top processes."""
    fixed = parse_workloads(workloads)
    if fixed:
        return FixedWorkloads(fixed)
    if kubernetes_api is not None and (account / "token").exists():
        host, port = kubernetes_api
        return KubernetesPods(node, api_fetcher(host, port, account))
    return TopProcesses()
