"""`KnowledgeGraph`: the graph's operations in the project's terms, over the catalogue.

Every query is a named catalogue entry run on the configured backend. The operations are split
by concern: the plumbing (`graph_core`), the upkeep's writes (`writes`), incidents and the
similar-incident search (`incidents`), and the context reads (`context`).
"""

from __future__ import annotations

from agent_bruno.knowledge.context import Contexts
from agent_bruno.knowledge.graph_core import FOREVER
from agent_bruno.knowledge.incidents import LINK_SLACK_S, IncidentNotFound
from agent_bruno.knowledge.writes import HEALTH_KEYS, UpkeepWrites

__all__ = ["FOREVER", "HEALTH_KEYS", "LINK_SLACK_S", "IncidentNotFound", "KnowledgeGraph"]


class KnowledgeGraph(Contexts, UpkeepWrites):
    """Writes the upkeep and people make, and the reads tools and the API need."""
