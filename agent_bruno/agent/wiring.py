"""`open_agent(settings, storage)`: the agent's clients built from settings, and closed again.

The composition root of the agent, called by the app's lifespan; nothing else builds clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx

from agent_bruno.agent.context import AgentContext
from agent_bruno.agent.forge import ForgeClient, ForgeConfig
from agent_bruno.agent.memory import MemoryPolicy, ThreadMemory, open_thread_memory
from agent_bruno.agent.model import build_chat_model
from agent_bruno.agent.nlu.understand import warm_up
from agent_bruno.agent.prompts import load_prompts
from agent_bruno.agent.service import AgentService
from agent_bruno.api.read import thresholds
from agent_bruno.knowledge.runtime import Knowledge
from agent_bruno.settings import Settings
from agent_bruno.storage.base import Storage
from agent_bruno.tls import client_tls

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


async def _prune_memory(memory: ThreadMemory, interval_s: float) -> None:
    """Apply the thread-memory retention now and every `interval_s` seconds until cancelled."""
    while True:
        generation = memory.generation
        try:
            gone = await memory.prune(time.time())
            if gone:
                log.info("thread memory retention dropped %d thread(s)", gone)
        except sqlite3.Error as exc:
            if await memory.recover(exc, generation) is None:  # a damaged file: replaced
                log.error("thread memory retention failed: %s; retrying in %.0f s", exc, interval_s)
        await asyncio.sleep(interval_s)


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel a background task and wait for it."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@asynccontextmanager
async def open_agent(
    settings: Settings, storage: Storage, knowledge: Knowledge | None = None
) -> AsyncIterator[AgentService]:
    """Build the agent (HTTP client, models, prompts, thread memory) and close it all after."""
    prompts = load_prompts()
    await asyncio.to_thread(warm_up)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                timeout=httpx.Timeout(READ_TIMEOUT_S),
                follow_redirects=False,
                verify=client_tls(trust_env=True),
            )
        )
        config = forge_config(settings)
        model = (
            build_chat_model(settings.ollama_url, settings.ollama_model, settings.ollama_timeout_s)
            if settings.ollama_url
            else None
        )
        policy = MemoryPolicy(
            settings.threads_max_age_days, settings.threads_max_count, settings.one_shot_ttl_s
        )
        memory = await stack.enter_async_context(open_thread_memory(settings.threads_path, policy))
        pruning = asyncio.create_task(
            _prune_memory(memory, settings.retention_interval_s), name="thread-memory-retention"
        )
        stack.push_async_callback(_cancel, pruning)
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
            context,
            model=model,
            model_timeout_s=settings.ollama_timeout_s,
            memory=memory,
            max_concurrent_runs=settings.agent_max_concurrent_runs,
        )
        stack.push_async_callback(service.close)
        log.info("%s", describe(settings))
        yield service
