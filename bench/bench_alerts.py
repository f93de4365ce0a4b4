"""Alert figures, against real `agent-bruno serve` processes and a webhook receiver on loopback.

- critical anomaly → receiver: a reporter batch with a critical reading and its episode is
  acknowledged; the time until the signed webhook reaches the receiver (p50, p99 of 200).
- 1,000 active rules: single-event ingest throughput of an agent with 1,000 subscriptions over
  that of an identical agent with none, measured alternately in one run (ratio of medians).
- backtest: a threshold rule with hold and hysteresis over 30 days of one series (8,640
  five-minute aggregates), in process, median of repeats.
- restart during delivery: 100 groups fire and resolve (200 notifications) to a slow
  receiver; the agent is SIGKILLed with requests in flight and restarted; what arrived.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from agent_bruno.alerts.config import AlertConfig
from agent_bruno.alerts.destinations import DestinationPolicy
from agent_bruno.alerts.engine import Observation
from agent_bruno.alerts.evaluator import Evaluator, SeriesLabels
from agent_bruno.alerts.model import RULE_ADAPTER, ThresholdRule, Timing
from agent_bruno.alerts.receiver import receiver
from agent_bruno.alerts.service import AlertService
from agent_bruno.alerts.subscription import Destination, Subscription
from agent_bruno.storage.base import EventsWrite
from agent_bruno.storage.sqlite import SqliteStorage
from agent_bruno.storage.writer import GroupCommitWriter
from agent_bruno.wire import EVENT_ADAPTER
from bench import bench_ingest
from bench.alerts_scenario import HOOK_SECRET, AlertAgent, aggregate, critical, episode
from bench.common import Figure, percentile

LATENCY_WARMUP = 20
LATENCY_ALERTS = 200
RULES = 1000
RATIO_RUNS = 9
RATIO_SECONDS = 3.0
BACKTEST_REPEATS = 15
RESTART_GROUPS = 100


def _latency(root: Path) -> tuple[list[float], str]:
    """Ack-to-receiver delays (s) of critical anomalies, one at a time."""
    with receiver(secret=HOOK_SECRET) as hook:
        agent = AlertAgent(root, hook.url + "/hook")
        agent.start()
        try:
            agent.subscribe({"kind": "episode", "min_severity": "critical"})
            delays: list[float] = []
            now = time.time()
            for i in range(LATENCY_WARMUP + LATENCY_ALERTS):
                sensor, ts = f"t-{i}", now - 5
                reading = critical(agent, sensor, ts, 91.0)
                reading["episode_start"] = ts
                events = [reading, episode(agent, sensor, ts, "open", 1)]
                before = len(hook.ok())
                acked = agent.send(events, location=f"room-{i}")
                got = hook.wait_for(before + 1, timeout_s=10)[-1]
                if i >= LATENCY_WARMUP:
                    delays.append(got.at - acked)
            bad = sum(1 for r in hook.received if r.signature_ok is not True)
        finally:
            agent.stop()
    return sorted(delays), f"{bad} bad signatures"


def _rules(agent: AlertAgent) -> list[dict[str, Any]]:
    """1,000 subscriptions across five metrics; none is crossed by the benchmark's data."""
    metrics = ["temperature", "humidity", "pressure", "co2", "cpu_percent"]
    scopes: list[dict[str, str]] = [
        {},
        {"location": "lab"},
        {"node": "bench-node"},
        {"location": "x"},
    ]
    n = 0
    made: list[dict[str, Any]] = []
    for metric in metrics:
        for i in range(RULES // len(metrics)):
            scope = scopes[i % len(scopes)]
            rule: dict[str, Any]
            if metric == "temperature" and i % 20 == 0:
                rule = {
                    "kind": "rate",
                    "metric": metric,
                    "direction": "rise",
                    "delta": 10,
                    "window_s": 600,
                    "scope": scope,
                }
            elif metric == "temperature" and i % 20 == 1:
                rule = {"kind": "episode", "metric": metric, "scope": scope}
            elif i % 2:
                rule = {
                    "kind": "threshold",
                    "metric": metric,
                    "op": "above",
                    "value": 30 + i * 0.1,
                    "scope": scope,
                }
            else:
                rule = {
                    "kind": "threshold",
                    "metric": metric,
                    "op": "below",
                    "value": 15 - i * 0.05,
                    "hold_s": 600,
                    "hysteresis": 1,
                    "scope": scope,
                }
            agent.subscribe(rule, name=f"bench rule {n}")
            made.append(rule)
            n += 1
    return made


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _eval_us(rules: list[dict[str, Any]]) -> float:
    """Microseconds the evaluator spends on one aggregate with these rules (in process)."""
    dest = Destination(kind="webhook", url="https://hooks.example.com/x")
    subs = [
        Subscription(f"s{i}", "bench", "r", RULE_ADAPTER.validate_python(r), dest, Timing(), 0, 0)
        for i, r in enumerate(rules)
    ]
    ev = Evaluator()
    ev.set_subscriptions(subs)
    series = SeriesLabels("bench", "bench-node", "lab", "dht22-1", "temperature", "°C")
    n = 20_000
    began = time.perf_counter()
    for i in range(n):
        t = 1.7e9 + 300 * i
        ev.observe(series, Observation(t, t + 300, 20.5, 22.5, 21.9))
    return (time.perf_counter() - began) / n * 1e6


def _ratio(root: Path) -> dict[str, Any]:
    """Throughput with 1,000 rules over throughput without: two agents measured back to back,
    RATIO_RUNS pairs in alternating order; and the CPU each spent per request."""
    token = {"AGENT_BRUNO_REPORTER_TOKENS": f"bench-node={bench_ingest.REPORTER_TOKEN}"}
    with receiver() as hook:
        plain = AlertAgent(root / "plain", hook.url, **token)
        ruled = AlertAgent(root / "ruled", hook.url, **token)
        for a in (plain, ruled):
            a.start()
        try:
            rules = _rules(ruled)
            rates: dict[str, list[float]] = {"plain": [], "ruled": []}
            cpu: dict[str, list[float]] = {"plain": [], "ruled": []}
            for run in range(RATIO_RUNS):
                pair = (("plain", plain), ("ruled", ruled))
                for name, a in pair if run % 2 == 0 else pair[::-1]:
                    assert a.proc is not None
                    before = _cpu_s(a.proc.pid)
                    result = bench_ingest._measure(
                        a.port, "single", run, bench_ingest.SINGLE_CONNECTIONS, RATIO_SECONDS
                    )
                    spent = _cpu_s(a.proc.pid) - before
                    served = result["requests_per_s"] * (
                        RATIO_SECONDS + bench_ingest.WARMUP_SECONDS
                    )
                    rates[name].append(result["requests_per_s"])
                    cpu[name].append(spent / served * 1e6)
            fired = len(hook.received)
        finally:
            plain.stop()
            ruled.stop()
    pairs = zip(rates["ruled"], rates["plain"], strict=True)
    cpu_pairs = zip(cpu["ruled"], cpu["plain"], strict=True)
    return {
        "ratio": statistics.median(r / p for r, p in pairs),
        "cpu_ratio": statistics.median(r / p for r, p in cpu_pairs),
        "plain_cpu_us": statistics.median(cpu["plain"]),
        "eval_us": _eval_us(rules),
        "detail": (
            f"single-event ingest, {bench_ingest.SINGLE_CONNECTIONS} connections, "
            f"{RATIO_RUNS} back-to-back pairs; without rules {_fmt(rates['plain'])} req/s, with "
            f"{RULES} rules {_fmt(rates['ruled'])} req/s; {fired} notifications (none expected)"
        ),
    }


async def _backtest(root: Path) -> tuple[list[float], str]:
    """Milliseconds per backtest of a threshold rule over 30 days of one series."""
    storage = SqliteStorage(root / "bt.db")
    writer = GroupCommitWriter(storage)
    writer.start()
    try:
        end = float(int(time.time() // 300) * 300)
        start = end - 30 * 86_400
        events = []
        for i in range(30 * 288):
            t = start + 300 * i
            dry = i % 500 < 6  # a dry spell every ~42 hours
            lo = 26.0 if dry else 38.0 + (i % 7)
            events.append(
                EVENT_ADAPTER.validate_python(
                    {
                        "id": f"a{i}",
                        "type": "aggregate",
                        "ts": t + 300,
                        "sensor": "dht22-1",
                        "metric": "humidity",
                        "unit": "%",
                        "start": t,
                        "end": t + 300,
                        "count": 60,
                        "min": lo,
                        "max": lo + 3,
                        "mean": lo + 1.5,
                        "last": lo + 2,
                    }
                )
            )
        for i in range(0, len(events), 1000):
            await writer.submit(EventsWrite("bench", "pi-1", "lab", events[i : i + 1000], end))
        config = AlertConfig(database=root / "bt.db", policy=DestinationPolicy())
        async with httpx.AsyncClient() as client:
            service = AlertService(config, storage, client)
            rule = ThresholdRule(
                metric="humidity", op="below", value=30, hold_s=600, hysteresis=2, unit="%"
            )
            times: list[float] = []
            result = None
            for _ in range(BACKTEST_REPEATS):
                began = time.perf_counter()
                result = await service.backtest(rule, start, end)
                times.append((time.perf_counter() - began) * 1000)
        assert result is not None
        detail = (
            f"{result.observations} points, fired {len(result.firings)} times; runs "
            f"{', '.join(f'{t:.0f}' for t in sorted(times))} ms"
        )
    finally:
        writer.stop()
        storage.close()
    return sorted(times), detail


def _restart(root: Path) -> dict[str, int]:
    """Kill the agent while it delivers 200 notifications; count what the receiver got."""
    with receiver(secret=HOOK_SECRET, delay_s=0.5) as hook:
        agent = AlertAgent(root, hook.url + "/hook")
        agent.start()
        try:
            agent.subscribe(
                {
                    "kind": "threshold",
                    "metric": "temperature",
                    "op": "above",
                    "value": 50,
                    "severity": "critical",
                }
            )
            start = float(int(time.time() // 300) * 300 - 1200)
            for g in range(RESTART_GROUPS):
                agent.send([aggregate(agent, "t-1", start, 20, 60)], location=f"room-{g}")
            for g in range(RESTART_GROUPS):
                agent.send([aggregate(agent, "t-1", start + 300, 20, 21)], location=f"room-{g}")
            deadline = time.monotonic() + 30
            while hook.arrivals < 20 and time.monotonic() < deadline:
                time.sleep(0.005)
            agent.kill()
            before = len(hook.distinct())
            in_flight = hook.arrivals - len(hook.ok())
            agent.start()
            deadline = time.monotonic() + 120
            while len(hook.distinct()) < 2 * RESTART_GROUPS and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(2)  # anything still coming would be a duplicate
        finally:
            agent.stop()
    distinct = hook.distinct()
    order: dict[str, list[str]] = {}
    for got in sorted(distinct.values(), key=lambda r: r.at):
        note = got.json()
        order.setdefault(note["group_key"], []).append(note["status"])
    out_of_order = sum(1 for seq in order.values() if seq != ["firing", "resolved"])
    return {
        "expected": 2 * RESTART_GROUPS,
        "distinct": len(distinct),
        "delivered_before_kill": before,
        "in_flight_at_kill": max(in_flight, 0),
        "resent_same_id": sum(1 for r in hook.ok() if r.repeat),
        "out_of_order": out_of_order,
        "bad_signatures": sum(1 for r in hook.received if r.signature_ok is False),
    }


def run() -> list[Figure]:
    """Every alert figure."""
    load = os.getloadavg()[0]
    note = f"load average {load:.1f} on {os.cpu_count()} CPUs before the runs (a shared machine)"
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp:
        root = Path(tmp)
        delays, sig = _latency(root / "latency")
        cost = _ratio(root / "ratio")
        times, bt_detail = asyncio.run(_backtest(root))
        crash = _restart(root / "restart")
    p50 = percentile(delays, 50) * 1000
    p99 = percentile(delays, 99) * 1000
    lat_detail = (
        f"{len(delays)} critical anomalies, each in its own group (no group wait for critical); "
        f"ack → signed webhook at the receiver; max {delays[-1] * 1000:.0f} ms; {sig}; goal "
        f"p99 ≤ 250 ms; {note}"
    )
    crash_detail = ", ".join(f"{k} {v}" for k, v in crash.items())
    return [
        Figure("alert_critical_to_receiver_p50_ms", p50, "ms", None, lat_detail),
        Figure("alert_critical_to_receiver_p99_ms", p99, "ms", ("<=", 1000), lat_detail),
        Figure(
            "alert_1000_rules_ingest_ratio",
            cost["ratio"],
            "ratio",
            (">=", 0.95),
            cost["detail"] + f"; {note}",
        ),
        Figure(
            "alert_1000_rules_cpu_per_request_ratio",
            cost["cpu_ratio"],
            "ratio",
            None,
            "agent CPU seconds per ingested request, with over without rules; " + cost["detail"],
        ),
        Figure(
            "alert_eval_share_of_request_cpu",
            cost["eval_us"] / cost["plain_cpu_us"],
            "fraction",
            None,
            f"evaluating one aggregate against the {RULES} rules takes {cost['eval_us']:.1f} µs "
            f"in process; an ingest request costs the agent {cost['plain_cpu_us']:.0f} µs CPU",
        ),
        Figure("alert_backtest_30d_ms", statistics.median(times), "ms", ("<=", 200), bt_detail),
        Figure(
            "alert_restart_lost",
            float(crash["expected"] - crash["distinct"]),
            "notifications",
            ("<=", 0),
            crash_detail,
        ),
        Figure(
            "alert_restart_out_of_order",
            float(crash["out_of_order"]),
            "groups",
            ("<=", 0),
            crash_detail,
        ),
        Figure(
            "alert_restart_resent_same_id",
            float(crash["resent_same_id"]),
            "requests",
            None,
            "requests in flight at the SIGKILL, sent again under their notification id "
            "(at least once; a receiver deduplicating on X-Bruno-Notification-Id processes "
            f"each once); {crash_detail}",
        ),
    ]


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:,.0f}" for v in values)


if __name__ == "__main__":
    for figure in run():
        print(figure)
