"""`AgentContext`: what the graph's nodes and tools need, built once at start-up and passed in."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import httpx

from agent_bruno.agent.catalog import TurnCatalog
from agent_bruno.health import Thresholds
from agent_bruno.storage.base import Storage

if TYPE_CHECKING:
    from agent_bruno.agent.forge import ForgeClient
    from agent_bruno.agent.prompts import Prompts
    from agent_bruno.knowledge.service import KnowledgeGraph


@dataclass(frozen=True, slots=True)
class AgentContext:
    """Run dependencies of the agent: data, clock, time zone, clients and prompts.

    `clock` is injectable so evaluations and tests run against a frozen "now". `graph_tools`
    is the slot the knowledge-graph toolset plugs its client into.
    """

    storage: Storage
    prompts: Prompts
    clock: Callable[[], float] = time.time
    tz: tzinfo = field(default_factory=lambda: ZoneInfo("UTC"))
    thresholds: Thresholds = field(default_factory=Thresholds)
    http: httpx.AsyncClient | None = None  # reporter read endpoints (raw drill-down)
    reporter_read_tokens: Mapping[str, str] = field(default_factory=dict)  # node → token
    forge: ForgeClient | None = None
    graph_client: KnowledgeGraph | None = None  # None: no knowledge graph
    max_items_for_model: int = 40
    graph_query_timeout_s: float = 5.0  # generated (read-only) graph queries
    graph_query_max_rows: int = 200
    asked_by: str = "chat"  # who asked this question (per run): the graph's writes record it
    catalog: TurnCatalog | None = None  # the turn's catalog read; AgentService sets one per run
    events: frozenset[str] | None = None  # the event kinds the run's consumer reads; None: all
