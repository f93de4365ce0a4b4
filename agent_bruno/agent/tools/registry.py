"""Every tool the agent can call, in one explicit list, and their compact form for a model."""

from __future__ import annotations

from typing import Any

from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.tools.base import Tool, ToolResult
from agent_bruno.agent.tools.edge import EDGE_TOOLS
from agent_bruno.agent.tools.forge import FORGE_TOOLS
from agent_bruno.agent.tools.graph import GRAPH_TOOLS

TOOLS: tuple[Tool[AgentContext, Any], ...] = (*EDGE_TOOLS, *GRAPH_TOOLS, *FORGE_TOOLS)
_BY_NAME = {t.name: t for t in TOOLS}


def find_tool(name: str) -> Tool[AgentContext, Any] | None:
    """The tool called `name`, if there is one."""
    return _BY_NAME.get(name)


def tool_schemas() -> list[dict[str, Any]]:
    """Function schemas of every tool, for a model's tool calling."""
    return [t.schema() for t in TOOLS]


def for_model(result: ToolResult, max_items: int) -> dict[str, Any]:
    """The result as JSON-ready data where every list longer than `max_items` keeps its first
    `max_items` entries and `summarised` states each cut: where, how many shown of how many."""
    cuts: list[str] = []

    def shrink(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            return {k: shrink(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        if isinstance(value, list):
            if len(value) > max_items:
                cuts.append(f"{path}: first {max_items} of {len(value)} shown")
                value = value[:max_items]
            return [shrink(v, f"{path}[]") for v in value]
        return value

    out = shrink(result.as_dict(), "")
    if cuts:
        out["summarised"] = cuts
    return dict(out)
