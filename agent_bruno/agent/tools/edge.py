"""The edge toolset: what the pipeline stored (summaries, series, anomalies, episodes), with
the node tools of `tools.nodes` (health, raw drill-down, inventory)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from agent_bruno.agent.catalog import snapshot
from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.nlu.plan import row_dict
from agent_bruno.agent.tools.base import Tool, ToolResult, describe
from agent_bruno.agent.tools.common import (
    Filters,
    Range,
    Severity,
    resolve_names,
    time_range,
    vocabulary,
)
from agent_bruno.agent.tools.nodes import (
    InventoryArgs,
    NodeArgs,
    RawArgs,
    inventory,
    node_health,
    raw_readings,
)
from agent_bruno.storage.base import (
    AnomalyQuery,
    CatalogRow,
    EpisodeQuery,
    SeriesQuery,
    SeriesSummary,
)

HOUR = 3600.0
DAY = 86_400.0
STEPS = (300, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400)
MAX_POINTS = 150


class Selection(Filters, Range):
    """Series filters and a time range: what the reading tools take."""


class Statistics(Selection):
    """A selection whose statistics may count sensor faults in."""

    include_faults: bool = Field(
        default=False,
        description="count readings the reporter judged sensor faults (a glitch past the "
        "sensor's range, a stuck value) in the statistics; by default they are left out and "
        "the result says how many there were",
    )


class SummaryArgs(Statistics):
    """Arguments of `metric_summary`."""


class SeriesArgs(Statistics):
    """Arguments of `metric_series`."""

    step_s: int | None = Field(default=None, ge=300, description="bucket width in seconds (≥ 300)")


class AnomalyArgs(Selection):
    """Arguments of `anomalies`."""

    severity: Severity | None = Field(
        default=None, description="warning or critical; omit for both"
    )
    limit: int = Field(
        default=50, ge=1, le=1000, description="most anomalies to list (newest first)"
    )


class EpisodeArgs(Selection):
    """Arguments of `anomaly_episodes`."""

    severity: Severity | None = Field(
        default=None, description="the highest severity reached: warning or critical"
    )
    state: Literal["open", "closed"] | None = Field(
        default=None, description="open (still lasting) or closed; omit for both"
    )
    kind: Literal["sensor_fault", "process_anomaly"] | None = Field(
        default=None, description="sensor_fault (a broken sensor) or process_anomaly (the world)"
    )
    limit: int = Field(default=50, ge=1, le=1000, description="most episodes to list")


async def _names(ctx: AgentContext, f: Filters) -> dict[str, str | None] | ToolResult:
    """The filters with stored spellings, or the unknown-name result."""
    vocab = await vocabulary(ctx)
    resolved = resolve_names(
        vocab, {"metric": f.metric, "location": f.location, "node": f.node, "sensor": f.sensor}
    )
    if isinstance(resolved, ToolResult):
        return resolved
    return {str(k): v for k, v in resolved.items()}


@dataclass(frozen=True, slots=True)
class _Selection:
    """Which series (stored spellings) over which range: what the reading tools share."""

    names: dict[str, str | None]
    start: float
    end: float
    include_faults: bool = False

    def series(self, step: int) -> SeriesQuery:
        """The storage query of this selection at `step` seconds."""
        n = self.names
        return SeriesQuery(self.start, self.end, step, n["metric"], n["location"], n["node"],
                           n["sensor"], include_faults=self.include_faults)  # fmt: skip


async def _select(ctx: AgentContext, args: Selection, default_s: float) -> _Selection | ToolResult:
    """The filters' stored names and the range (default: the last `default_s` seconds), or the
    result saying which name is unknown or which time is unreadable."""
    names = await _names(ctx, args)
    if isinstance(names, ToolResult):
        return names
    span = time_range(ctx, args.start, args.end, default_s)
    if isinstance(span, ToolResult):
        return span
    faults = args.include_faults if isinstance(args, Statistics) else False
    return _Selection(names, *span, include_faults=faults)


def _where(names: dict[str, str | None]) -> str:
    """The filters in words, for a no-data reason."""
    parts = [f"{k} {v}" for k, v in names.items() if v]
    return ", ".join(parts) or "any series"


async def metric_summary(ctx: AgentContext, args: SummaryArgs) -> ToolResult:
    """Latest value, and mean/min/max/count over a time range (default the last hour), of
    every series matching the filters: for "what is the temperature", averages, rankings."""
    sel = await _select(ctx, args, HOUR)
    if isinstance(sel, ToolResult):
        return sel
    names, start, end = sel.names, sel.start, sel.end
    rows = await asyncio.to_thread(ctx.storage.summarize, sel.series(300))
    catalog = (await snapshot(ctx.storage, ctx.catalog)).rows
    spans = _stored_spans(catalog, names)
    if not rows:
        if not spans:
            reason = f"no readings stored for {_where(names)}"
            return ToolResult.no_data(reason, measured_elsewhere(catalog, names))
        rows = [_empty_summary(key) for key in spans]  # stored, only not in this range
    now = ctx.clock()
    series = []
    for r in rows:
        item = row_dict(r)
        item["age_s"] = None if r.latest_ts is None else max(0.0, now - r.latest_ts)
        stored = spans.get((r.cluster, r.node, r.location, r.sensor, r.metric, r.unit))
        item["first_ts"], item["last_ts"] = stored if stored else (None, None)
        series.append(item)
    return ToolResult.ok(
        {"start": start, "end": end, "now": now, "filters": names, "series": series}, len(series)
    )


SeriesKey6 = tuple[str, str, str, str, str, str]
_FILTER_KEYS = ("metric", "location", "node", "sensor")


def _stored_spans(
    catalog: Sequence[CatalogRow], names: dict[str, str | None]
) -> dict[SeriesKey6, tuple[float, float]]:
    """When each series matching the filters has data, from its first to its last stored time:
    how much data stands behind a statistic, and where the nearest data is."""
    out: dict[SeriesKey6, tuple[float, float]] = {}
    for row in catalog:
        if any(names.get(k) and getattr(row, k) != names[k] for k in _FILTER_KEYS):
            continue
        key = (row.cluster, row.node, row.location, row.sensor, row.metric, row.unit)
        first, last = out.get(key, (row.first_ts, row.last_ts))
        out[key] = (min(first, row.first_ts), max(last, row.last_ts))
    return out


def measured_elsewhere(
    catalog: Sequence[CatalogRow], names: dict[str, str | None]
) -> dict[str, Any] | None:
    """Where a metric is measured when the place asked about has none of it ("co2 in the
    greenhouse"): the metric, the place asked and every (location, node) that has it."""
    metric = names.get("metric")
    asked = [(k, v) for k in ("node", "location", "sensor") if (v := names.get(k))]
    if not metric or not asked:
        return None
    found = sorted({(r.location, r.node) for r in catalog if r.metric == metric})
    if not found:
        return None
    return {
        "metric": metric,
        "asked": {"kind": asked[0][0], "name": asked[0][1]},
        "measured_at": [{"location": loc, "node": node} for loc, node in found],
    }


def _empty_summary(key: SeriesKey6) -> SeriesSummary:
    """A stored series with no data in the asked range."""
    cluster, node, location, sensor, metric, unit = key
    empty = (0, None, None, None, None, None)
    return SeriesSummary(cluster, node, location, sensor, metric, unit, *empty)


def choose_step(start: float, end: float, asked: int | None) -> int:
    """The asked step, else the finest standard step giving at most MAX_POINTS buckets."""
    if asked is not None:
        return max(300, asked // 300 * 300)
    for step in STEPS:
        if (end - start) / step <= MAX_POINTS:
            return step
    return STEPS[-1]


async def metric_series(ctx: AgentContext, args: SeriesArgs) -> ToolResult:
    """Points over time (mean, min, max per bucket) of the matching series: trends, history."""
    sel = await _select(ctx, args, HOUR)
    if isinstance(sel, ToolResult):
        return sel
    names, start, end = sel.names, sel.start, sel.end
    query = sel.series(choose_step(start, end, args.step_s))
    # One worker-thread hop for both reads: two cheap reads cost less in a row than the
    # second hop and its thread's wake-up.
    storage = ctx.storage
    rows, latest = await asyncio.to_thread(
        lambda: (storage.query_series(query), storage.summarize(query))
    )
    if not rows:
        catalog = (await snapshot(ctx.storage, ctx.catalog)).rows
        if not _stored_spans(catalog, names):  # never measured there, not only not then
            reason = f"no readings stored for {_where(names)}"
            return ToolResult.no_data(reason, measured_elsewhere(catalog, names))
        return ToolResult.no_data(f"no readings stored for {_where(names)} in that range")
    exact = {(r.node, r.sensor, r.metric, r.unit): r for r in latest}
    series: list[dict[str, Any]] = [
        {
            "location": r.location,
            "node": r.node,
            "sensor": r.sensor,
            "metric": r.metric,
            "unit": r.unit,
            "step": r.step,
            "source": r.source,
            # Buckets align to the step, so the first may start before `start`: the range's
            # own statistics come from the summary, which counts only buckets inside it.
            **_range_stats(exact.get((r.node, r.sensor, r.metric, r.unit))),
            "points": [
                {"ts": p.ts, "mean": p.mean, "min": p.min, "max": p.max, "count": p.count}
                for p in r.points
            ],
        }
        for r in rows
    ]
    size = sum(len(s["points"]) for s in series)
    return ToolResult.ok(
        {"start": start, "end": end, "now": ctx.clock(), "filters": names, "series": series}, size
    )


def _range_stats(summary: SeriesSummary | None) -> dict[str, Any]:
    """Latest value and the range's count/mean/min/max of a series, from its summary."""
    if summary is None:
        return {"latest": None, "latest_ts": None, "count": 0, "mean": None, "min": None,
                "max": None}  # fmt: skip
    return {
        "latest": summary.latest,
        "latest_ts": summary.latest_ts,
        "count": summary.count,
        "mean": summary.mean,
        "min": summary.min,
        "max": summary.max,
        "faults": None if summary.faults is None else row_dict(summary.faults),
        "faults_included": summary.faults_included,
    }


async def anomalies(ctx: AgentContext, args: AnomalyArgs) -> ToolResult:
    """Flagged readings (warning or critical), newest first, default the last 24 hours, with
    the total count by severity."""
    sel = await _select(ctx, args, DAY)
    if isinstance(sel, ToolResult):
        return sel
    names, start, end = sel.names, sel.start, sel.end
    query = AnomalyQuery(start, end, args.limit, None, names["node"], names["location"],
                         args.severity, names["sensor"], names["metric"])  # fmt: skip
    storage = ctx.storage  # one worker-thread hop for both reads
    rows, counts = await asyncio.to_thread(
        lambda: (storage.query_anomalies(query), storage.count_anomalies(query))
    )
    total = sum(counts.values())
    data = {
        "start": start,
        "end": end,
        "now": ctx.clock(),
        "filters": {**names, "severity": args.severity},
        "counts": counts,
        "total": total,
        "anomalies": [row_dict(r) for r in rows],
    }
    return ToolResult.ok(data, total)


async def anomaly_episodes(ctx: AgentContext, args: EpisodeArgs) -> ToolResult:
    """Anomaly episodes (one series' flags taken together: kind sensor_fault or process_anomaly,
    rule, highest severity, start, end or still open, peak, reason) active in a time range
    (default the last 24 hours), open ones first, with counts by kind and severity."""
    sel = await _select(ctx, args, DAY)
    if isinstance(sel, ToolResult):
        return sel
    names, start, end = sel.names, sel.start, sel.end
    query = EpisodeQuery(
        start, end, args.limit, node=names["node"], location=names["location"],
        sensor=names["sensor"], metric=names["metric"], kind=args.kind, severity=args.severity,
        state=args.state,
    )  # fmt: skip
    storage = ctx.storage  # one worker-thread hop for both reads
    rows, counts = await asyncio.to_thread(
        lambda: (storage.query_episodes(query), storage.count_episodes(query))
    )
    total = sum(counts.values())
    data = {
        "start": start,
        "end": end,
        "now": ctx.clock(),
        "filters": {**names, "severity": args.severity, "state": args.state, "kind": args.kind},
        "counts": {f"{kind}/{severity}": n for (kind, severity), n in sorted(counts.items())},
        "total": total,
        "episodes": [{**row_dict(r), "open": r.is_open} for r in rows],
    }
    return ToolResult.ok(data, total)


EDGE_TOOLS: tuple[Tool[AgentContext, Any], ...] = (
    Tool("inventory", describe(inventory), InventoryArgs, inventory, "edge"),
    Tool("metric_summary", describe(metric_summary), SummaryArgs, metric_summary, "edge"),
    Tool("metric_series", describe(metric_series), SeriesArgs, metric_series, "edge"),
    Tool("anomalies", describe(anomalies), AnomalyArgs, anomalies, "edge"),
    Tool("anomaly_episodes", describe(anomaly_episodes), EpisodeArgs, anomaly_episodes, "edge"),
    Tool("node_health", describe(node_health), NodeArgs, node_health, "edge"),
    Tool("raw_readings", describe(raw_readings), RawArgs, raw_readings, "edge"),
)
