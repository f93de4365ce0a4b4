"""Dependencies: the services built in the lifespan, and authentication of reporters and users."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from agent_bruno.agent.service import AgentService
from agent_bruno.alerts.service import AlertService
from agent_bruno.api.cache import AnswerCache
from agent_bruno.api.errors import ApiError
from agent_bruno.api.limits import QuestionLimits
from agent_bruno.clocks import ClockOffsets
from agent_bruno.knowledge.runtime import Knowledge
from agent_bruno.metrics import Metrics
from agent_bruno.reporters import Reporters
from agent_bruno.settings import Settings
from agent_bruno.storage.base import Storage
from agent_bruno.storage.writer import GroupCommitWriter

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True, slots=True)
class Services:
    """Everything routes need, built once in the lifespan."""

    settings: Settings
    storage: Storage
    writer: GroupCommitWriter
    metrics: Metrics
    reporter_tokens: dict[str, str]  # token → node
    agent: AgentService  # answers questions (POST /query, /chat)
    alerts: AlertService  # subscriptions, evaluation on ingest, delivery
    principals: dict[str, str]  # API token → owner
    clocks: ClockOffsets = field(default_factory=ClockOffsets)  # reporter clock offsets
    reporters: Reporters = field(default_factory=Reporters)  # places and series budgets
    limits: QuestionLimits = field(default_factory=QuestionLimits)  # api/limits.py
    knowledge: Knowledge | None = None  # the knowledge graph and its upkeep (None: off)
    answers: AnswerCache = field(default_factory=AnswerCache)  # GET /v1/series answers
    # SHA-256 of each reporter token → (token, node): one lookup per request, however many
    # reporters there are (comparing with every token in turn cost O(reporters) per request).
    reporter_digests: dict[bytes, tuple[str, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        digests = {_digest(t): (t, node) for t, node in self.reporter_tokens.items()}
        object.__setattr__(self, "reporter_digests", digests)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def get_services(request: Request) -> Services:
    """The services stored on `app.state` by the lifespan."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _bearer(request: Request) -> str | None:
    """The bearer token of the request, if any."""
    return bearer_token(request.headers.get("authorization"))


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, if any."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _unauthorized(message: str, metrics: Metrics) -> ApiError:
    """A 401 with the Bearer challenge."""
    metrics.rejections.labels("unauthorized").inc()
    return ApiError(401, message, reason="unauthorized", headers=_CHALLENGE)


async def reporter_node(request: Request, services: ServicesDep) -> str:
    """The node whose reporter token authenticates the request (401 otherwise)."""
    token = _bearer(request)
    if token is None:
        raise _unauthorized(
            "missing bearer token: send `Authorization: Bearer <reporter token>`", services.metrics
        )
    entry = services.reporter_digests.get(_digest(token))
    found = None
    if entry is not None and hmac.compare_digest(entry[0].encode(), token.encode()):
        found = entry[1]
    if found is None:
        raise _unauthorized(
            "unknown reporter token: check AGENT_BRUNO_REPORTER_TOKENS on the agent "
            "and the reporter's token",
            services.metrics,
        )
    return found


LOCAL_OWNER = "local"  # the caller of a loopback-only agent without API tokens (the demo)


async def api_principal(request: Request, services: ServicesDep) -> str:
    """Who calls: `api` (AGENT_BRUNO_API_TOKEN), `api:<name>` (AGENT_BRUNO_API_PRINCIPALS),
    or `local` when the server is loopback-only without tokens; 401 otherwise."""
    return principal_of(request.headers.get("authorization"), services)


def principal_of(authorization: str | None, services: Services) -> str:
    """`api_principal` from the `Authorization` header's value (for plain ASGI endpoints)."""
    if services.settings.reads_open:
        return LOCAL_OWNER
    token = bearer_token(authorization)
    if token is None:
        raise _unauthorized(
            "missing bearer token: send `Authorization: Bearer <API token>`", services.metrics
        )
    found = None
    for known, owner in services.principals.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            found = owner
    if found is None:
        raise _unauthorized(
            "wrong API token: use AGENT_BRUNO_API_TOKEN's value or a token of "
            "AGENT_BRUNO_API_PRINCIPALS",
            services.metrics,
        )
    return found


async def require_api_token(request: Request, services: ServicesDep) -> None:
    """Require an API token, unless the server is loopback-only without one (the demo)."""
    await api_principal(request, services)


ApiAuth = Annotated[None, Depends(require_api_token)]
Principal = Annotated[str, Depends(api_principal)]
