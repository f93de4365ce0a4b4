"""The SDK's errors: one base class, one subclass per thing a caller can do something about."""

from __future__ import annotations

from typing import Any


class HomelabError(Exception):
    """Any failure of the SDK; `problem` holds the agent's problem details when it sent some."""

    def __init__(self, message: str, problem: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.problem = problem or {}


class AgentUnreachable(HomelabError):
    """The agent did not answer (wrong URL, down, network)."""


class AuthError(HomelabError):
    """The agent refused the token (401)."""


class BadRequest(HomelabError, ValueError):
    """The agent or the SDK refused an argument (400, 404, 422); the message names it."""


class AgentError(HomelabError):
    """The agent failed (5xx); retrying later may help."""


class DeployError(HomelabError):
    """The Kubernetes API refused or could not be reached."""
