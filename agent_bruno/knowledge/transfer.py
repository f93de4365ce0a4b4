"""What people taught the graph, as a file: export before a rebuild or a move, import after.

Incidents keep their ids, authors and times; the episodes they link travel with them in full,
so an import links them even where storage no longer holds those episodes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent_bruno.knowledge.model import EpisodeFact, IncidentInput, RootCauseInput
from agent_bruno.knowledge.service import KnowledgeGraph

Text = Annotated[str, Field(max_length=4096)]


class TransferError(ValueError):
    """A knowledge file is not what `export` writes; the message names the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CauseRecord(_Strict):
    """A root cause as exported."""

    id: str
    description: Text
    resolution: Text | None = None
    recommendation: Text | None = None
    confirmed_by: str | None = None
    confirmed_at: float | None = None


class EpisodeRecord(_Strict):
    """A linked episode as exported."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    cluster: str | None = ""
    node: str
    location: str
    sensor: str
    metric: str
    unit: str
    kind: str
    rule: str
    severity: str
    started: float
    ended: float | None
    last: float
    flags: int
    peak_value: float | None
    peak_sigma: float | None
    reason: str | None = ""
    updated: float | None = None


class IncidentRecord(_Strict):
    """An incident as exported."""

    id: str
    title: Text
    location: str
    started: float
    ended: float | None
    status: Literal["open", "resolved"]
    summary: Text | None = ""
    created_by: str | None = None
    created_at: float | None = None
    updated_by: str | None = None
    updated_at: float | None = None
    root_causes: list[CauseRecord] = []
    episodes: list[EpisodeRecord] = []


class KnowledgeFile(_Strict):
    """The export file."""

    format: Literal["agent-bruno-knowledge"]
    version: Literal[1]
    incidents: list[IncidentRecord]


def parse_knowledge(data: Any) -> KnowledgeFile:
    """Validate an export document, naming the first problems."""
    try:
        return KnowledgeFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:5]
        )
        raise TransferError(f"not an agent-bruno knowledge file: {problems}") from None


async def import_knowledge(graph: KnowledgeGraph, doc: KnowledgeFile) -> dict[str, int]:
    """Write every incident of `doc` (same ids: importing twice changes nothing)."""
    episodes = 0
    for rec in doc.incidents:
        facts = [
            EpisodeFact(
                **{
                    **e.model_dump(),
                    "cluster": e.cluster or "",
                    "reason": e.reason or "",
                    "updated": e.updated if e.updated is not None else e.last,
                }
            )
            for e in rec.episodes
        ]
        await graph.write(graph.episode_statements(facts))
        episodes += len(facts)
        cause = rec.root_causes[0] if rec.root_causes else None
        incident = IncidentInput(
            location=rec.location,
            started=rec.started,
            title=rec.title,
            ended=rec.ended,
            status=rec.status,
            summary=rec.summary or "",
            root_cause=RootCauseInput(cause.description, cause.resolution, cause.recommendation)
            if cause
            else None,
            episodes=tuple(e.id for e in rec.episodes),
        )
        await graph.store_incident(
            rec.id,
            incident,
            rec.updated_by or rec.created_by or "import",
            rec.updated_at or rec.created_at or rec.started,
            created_by=rec.created_by or "import",
            created_at=rec.created_at or rec.started,
            link_nearby=False,
        )
    return {"incidents": len(doc.incidents), "episodes": episodes}
