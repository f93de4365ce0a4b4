"""The Forge toolset: hand a hard question and the relevant data to the larger model."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.forge import ForgeError
from agent_bruno.agent.tools.base import Tool, ToolResult, describe
from agent_bruno.agent.tools.common import Args
from agent_bruno.agent.tools.edge import AnomalyArgs, SummaryArgs, anomalies, metric_summary
from agent_bruno.agent.tools.graph import ContextArgs, graph_context
from agent_bruno.agent.tools.nodes import NodeArgs, node_health


class ForgeArgs(Args):
    """Arguments of `forge_analysis`."""

    question: str = Field(min_length=1, max_length=2000, description="what to analyse")
    node: str | None = Field(default=None, description="the node the question is about, if any")
    location: str | None = Field(default=None, description="the location it is about, if any")


async def gather(ctx: AgentContext, args: ForgeArgs) -> dict[str, Any]:
    """The data attached to a Forge question: node health, the last hour's summaries, the
    last day's anomalies and the knowledge graph's context (what runs there, past incidents and
    their causes), narrowed to the node or location asked about."""
    health = await node_health(ctx, NodeArgs(node=args.node))
    summary = await metric_summary(ctx, SummaryArgs(node=args.node, location=args.location))
    flagged = await anomalies(ctx, AnomalyArgs(node=args.node, location=args.location, limit=100))
    data = {
        "node_health": health.as_dict(),
        "last_hour": summary.as_dict(),
        "anomalies_24h": flagged.as_dict(),
    }
    if ctx.graph_client is not None and (args.node or args.location):
        # A node's context covers its location's incidents; else the location's.
        context = await graph_context(ctx, ContextArgs(node=args.node, location=args.location))
        data["knowledge_graph"] = context.as_dict()
    return data


async def forge_analysis(ctx: AgentContext, args: ForgeArgs) -> ToolResult:
    """Ask the larger Forge model a question that needs reasoning across the data (causes,
    correlations, what to do); the relevant node health, summaries and anomalies are attached."""
    if ctx.forge is None:
        return ToolResult.fail("the Forge model is not configured (set AGENT_BRUNO_FORGE_URL)")
    data = await gather(ctx, args)
    try:
        answer = await ctx.forge.analyze(ctx.prompts.forge, args.question, data)
    except ForgeError as exc:
        return ToolResult.fail(f"Forge analysis failed: {exc}")
    return ToolResult.ok(
        {
            "analysis": answer.text,
            "model": answer.model,
            "duration_s": answer.duration_s,
            "data_chars": answer.data_chars,
            "data_summarised": answer.data_truncated,
        }
    )


FORGE_TOOLS: tuple[Tool[AgentContext, Any], ...] = (
    Tool("forge_analysis", describe(forge_analysis), ForgeArgs, forge_analysis, "forge"),
)
