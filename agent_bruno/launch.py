"""The `agent-bruno` console script: under the `edge` extra alone it says to install `agent`."""

from __future__ import annotations

from edge_reporter.distribution import launch


def main() -> int:
    """Run `agent_bruno.cli:main`, or name the missing extra."""
    return launch("agent_bruno.cli:main", extra="agent", prog="agent-bruno")
