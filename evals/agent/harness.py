"""The agent the eval asks: the real `AgentService` (built-in, no model) over the seeded
dataset with a frozen clock, its knowledge graph built by the real upkeep and its alert desk,
and `run_cases`, which asks every case in a fresh thread and scores its last turn."""

from __future__ import annotations

import importlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from evals.agent.cases import Call, Case, Outcome, Report
from evals.agent.dataset import Dataset
from evals.agent.scoring import default_time_parser, score

Asker = Callable[[str, str], Awaitable[tuple[str, list[Call], str]]]


def _call(raw: Any) -> Call:
    """A call from a `ToolCallRecord` or its `as_dict()`."""
    if isinstance(raw, Mapping):
        return Call(str(raw.get("name")), dict(raw.get("args") or {}))
    return Call(str(raw.name), dict(raw.args or {}))


async def run_cases(
    cases: Sequence[Case], ask: Asker, now: float, tz: tzinfo, verbose: bool = False
) -> Report:
    """Ask every case in a fresh thread (earlier turns first) and score its last turn."""
    report = Report()
    parse = default_time_parser()
    for case in cases:
        started = time.perf_counter()
        answer, mode = "", ""
        calls: list[Call] = []
        try:
            for turn in case.turns:
                await ask(turn, case.id)
            answer, calls, mode = await ask(case.question, case.id)
            reasons = score(case, answer, calls, now, tz, parse)
        except Exception as exc:  # one broken case must not stop the evaluation
            reasons = (f"the agent failed: {type(exc).__name__}: {exc}",)
        outcome = Outcome(
            case, not reasons, reasons, answer, tuple(calls), time.perf_counter() - started, mode
        )
        report.outcomes.append(outcome)
        if verbose:
            print(f"{'ok  ' if outcome.passed else 'FAIL'} {case.id}", flush=True)
    return report


@dataclass(slots=True)
class BuiltAgent:
    """The agent service over the dataset, and how to close it."""

    ask: Asker
    close: Callable[[], Awaitable[None]]


async def build_agent(dataset: Dataset, mode: str) -> BuiltAgent:
    """The real agent (no model in `builtin` mode) over the dataset, with a frozen clock."""
    if mode != "builtin":
        raise ValueError(f"mode {mode!r} is not supported; use builtin")
    service_mod = importlib.import_module("agent_bruno.agent.service")
    context_mod = importlib.import_module("agent_bruno.agent.context")
    prompts_mod = importlib.import_module("agent_bruno.agent.prompts")
    storage_mod = importlib.import_module("agent_bruno.storage.sqlite")
    storage = storage_mod.SqliteStorage(dataset.path)
    graph, backend = await _knowledge_graph(storage, dataset)
    context = context_mod.AgentContext(
        storage=storage,
        prompts=prompts_mod.load_prompts(),
        clock=lambda: dataset.now,
        tz=dataset.tz,
        graph_client=graph,
    )
    service = await service_mod.AgentService.create(context, model=None)
    alerts, client = await _alert_desk(service, storage, dataset)

    async def ask(question: str, thread_id: str) -> tuple[str, list[Call], str]:
        # Each case is its own asker, as `/query` callers are: its subscriptions are its own.
        reply = await service.ask(question, thread_id=thread_id, owner=f"eval:{thread_id}")
        return str(reply.answer), [_call(c) for c in reply.calls], str(reply.mode)

    async def close() -> None:
        await service.close()
        await alerts.close()
        await client.aclose()
        await backend.close()
        storage.close()

    return BuiltAgent(ask, close)


# What people taught the graph before "now": one past incident with its cause.
PAST_INCIDENT_DAYS = 12.0


async def _knowledge_graph(storage: Any, dataset: Dataset) -> tuple[Any, Any]:
    """The knowledge graph as `agent-bruno serve` keeps it (embedded Ladybug, in memory here),
    built from the dataset's storage by the real upkeep, plus one incident a person recorded:
    pi-node-3 overloaded by frigate, 12 days ago, resolved."""
    ladybug = importlib.import_module("agent_bruno.knowledge.ladybug_backend")
    service = importlib.import_module("agent_bruno.knowledge.service")
    upkeep_mod = importlib.import_module("agent_bruno.knowledge.upkeep")
    model = importlib.import_module("agent_bruno.knowledge.model")
    catalogue = importlib.import_module("agent_bruno.knowledge.catalogue")
    backend = await ladybug.LadybugBackend.open(None)
    graph = service.KnowledgeGraph(backend, catalogue.load_catalogue())
    upkeep = upkeep_mod.GraphUpkeep(graph, storage, clock=lambda: dataset.now)
    await upkeep.start()
    await upkeep.reconcile()
    at = dataset.now - PAST_INCIDENT_DAYS * 86_400.0
    incident = model.IncidentInput(
        location="server-room",
        started=at,
        ended=at + 3_600.0,
        status="resolved",
        title="pi-node-3 overloaded",
        root_cause=model.RootCauseInput(
            description="frigate transcoding every camera at full resolution",
            resolution="frigate limited to the substreams",
            recommendation="move frigate's detection to the substreams",
        ),
    )
    await graph.record_incident(incident, by="eval", at=at + 3_600.0)
    return graph, backend


async def _alert_desk(service: Any, storage: Any, dataset: Dataset) -> tuple[Any, Any]:
    """The alert service as the agent's desk, as `agent-bruno serve` wires it: subscriptions
    in the dataset's database, alerts to a loopback webhook nobody listens on (cases only
    create and manage subscriptions; nothing is ingested, so nothing fires)."""
    alerts_mod = importlib.import_module("agent_bruno.alerts.service")
    desk_mod = importlib.import_module("agent_bruno.alerts.desk")
    dest_mod = importlib.import_module("agent_bruno.alerts.destinations")
    sub_mod = importlib.import_module("agent_bruno.alerts.subscription")
    httpx = importlib.import_module("httpx")
    config = alerts_mod.AlertConfig(
        database=dataset.path,
        policy=dest_mod.DestinationPolicy.parse(["127.0.0.1/32"]),
        default_destination=sub_mod.Destination(kind="webhook", url="http://127.0.0.1:9/eval"),
    )
    client = httpx.AsyncClient(trust_env=False)
    alerts = alerts_mod.AlertService(config, storage, client, clock=lambda: dataset.now)
    await alerts.start()
    service.desks.append(desk_mod.AlertDesk(alerts, storage, dataset.tz))
    return alerts, client
