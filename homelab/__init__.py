"""The homelab SDK: the agent's data and answers in code, and edge apps deployed from code.

    from homelab import EdgeData, EdgeDeploy

    data = EdgeData("agent-bruno")          # in the cluster; or EdgeData("http://host:30120")
    data.get_anomalies(location="warehouse", severity="critical", time_range="1h")
    df = data.get_timeseries(sensors=["dht22-1"], time_range="7d")

Install with `pip install 'agent-bruno[sdk]'`. It talks to the agent over HTTP only.
"""

from __future__ import annotations

from homelab.core import Anomaly, Answer, ChatEvent, Reading, Subscription, ToolCall
from homelab.data import AsyncEdgeData, EdgeData
from homelab.deploy import EdgeDeploy
from homelab.errors import (
    AgentError,
    AgentUnreachable,
    AuthError,
    BadRequest,
    DeployError,
    HomelabError,
)

__all__ = [
    "AgentError",
    "AgentUnreachable",
    "Anomaly",
    "Answer",
    "AsyncEdgeData",
    "AuthError",
    "BadRequest",
    "ChatEvent",
    "DeployError",
    "EdgeData",
    "EdgeDeploy",
    "HomelabError",
    "Reading",
    "Subscription",
    "ToolCall",
]
