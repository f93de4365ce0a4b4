"""`open_agent(settings, storage)`: the agent's clients built from settings, and closed again.

The composition root of the agent, called by the app's lifespan; nothing else builds clients.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx

from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.forge import ForgeClient, ForgeConfig
from agent_bruno.agent.model import build_chat_model
from agent_bruno.agent.prompts import load_prompts
from agent_bruno.agent.service import AgentService, open_sqlite_checkpointer
from agent_bruno.api.read import thresholds
from agent_bruno.knowledge.runtime import Knowledge
from agent_bruno.settings import Settings
from agent_bruno.storage.base import Storage

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 10.0  # a reporter's raw read endpoint; the Forge client sets its own


def forge_config(settings: Settings) -> ForgeConfig | None:
    """The Forge model's configuration, or None when `forge_url` is unset."""
    if settings.forge_url is None:
        return None
    key = settings.forge_api_key
    return ForgeConfig(
        base_url=settings.forge_url,
        model=settings.forge_model,
        api=settings.forge_api,
        api_key=key.get_secret_value() if key is not None else None,
        timeout_s=settings.forge_timeout_s,
    )


def describe(settings: Settings) -> str:
    """One line on how questions will be answered, for the start-up log."""
    understanding = (
        f"model {settings.ollama_model} at {settings.ollama_url}"
        if settings.ollama_url
        else "built-in language understanding (no AGENT_BRUNO_OLLAMA_URL)"
    )
    forge = f"Forge {settings.forge_model} at {settings.forge_url}" if settings.forge_url else "off"
    return (
        f"agent: {understanding}; deep analysis: {forge}; time zone {settings.timezone}; "
        f"{len(settings.read_tokens())} reporter read token(s)"
    )


@asynccontextmanager
async def open_agent(
    settings: Settings, storage: Storage, knowledge: Knowledge | None = None
) -> AsyncIterator[AgentService]:
    """Build the agent (HTTP client, models, prompts, thread memory) and close it all after."""
    prompts = load_prompts()
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx.AsyncClient(timeout=httpx.Timeout(READ_TIMEOUT_S), follow_redirects=False)
        )
        config = forge_config(settings)
        model = (
            build_chat_model(settings.ollama_url, settings.ollama_model, settings.ollama_timeout_s)
            if settings.ollama_url
            else None
        )
        saver = await stack.enter_async_context(open_sqlite_checkpointer(settings.threads_path))
        context = AgentContext(
            storage=storage,
            prompts=prompts,
            tz=settings.tzinfo,
            thresholds=thresholds(settings),
            http=http,
            reporter_read_tokens=settings.read_tokens(),
            forge=ForgeClient(config, http) if config is not None else None,
            graph_client=knowledge.graph if knowledge is not None else None,
            graph_query_timeout_s=settings.graph_query_timeout_s,
            graph_query_max_rows=settings.graph_query_max_rows,
        )
        service = await AgentService.create(
            context, model=model, model_timeout_s=settings.ollama_timeout_s, checkpointer=saver
        )
        stack.push_async_callback(service.close)
        log.info("%s", describe(settings))
        yield service
