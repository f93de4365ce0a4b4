"""`agent-bruno graph rebuild | export FILE | import FILE`: the knowledge graph from the shell.

With the agent running, each goes through its API (`/v1/graph/...`, the API token from
`AGENT_BRUNO_API_TOKEN`); with `--offline` (the agent stopped: the embedded graph is one
process's file) it opens the data directory's storage and graph itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from agent_bruno.knowledge.backend import GraphError
from agent_bruno.knowledge.catalogue import load_catalogue
from agent_bruno.knowledge.runtime import open_backend
from agent_bruno.knowledge.service import KnowledgeGraph
from agent_bruno.knowledge.transfer import TransferError, import_knowledge, parse_knowledge
from agent_bruno.knowledge.upkeep import GraphUpkeep
from agent_bruno.settings import ClientSettings, Settings


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The `graph` subcommand and its actions."""
    p: argparse.ArgumentParser = sub.add_parser(
        "graph",
        help="rebuild the knowledge graph, or export / import what people taught it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", choices=["rebuild", "export", "import"])
    p.add_argument("file", nargs="?", help="the knowledge file (export: default stdout)")
    p.add_argument("--url", default=None, help="the agent (default AGENT_BRUNO_URL)")
    p.add_argument(
        "--offline", action="store_true", help="the agent is stopped: open its data directly"
    )
    return p


def _online(args: argparse.Namespace) -> Any:
    client = ClientSettings()
    url = (args.url or client.url).rstrip("/")
    token = client.api_token.get_secret_value() if client.api_token else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, headers=headers, timeout=600.0) as http:
        if args.action == "rebuild":
            r = http.post("/v1/graph/rebuild")
        elif args.action == "export":
            r = http.get("/v1/graph/export")
        else:
            r = http.post("/v1/graph/import", content=Path(args.file).read_bytes())
    if r.status_code != 200:
        detail = r.json().get("detail", r.text) if r.content else r.reason_phrase
        raise RuntimeError(f"the agent at {url} answered {r.status_code}: {detail}")
    return r.json()


async def _offline(args: argparse.Namespace, settings: Settings, text: str | None) -> Any:
    from agent_bruno.storage.sqlite import SqliteStorage

    backend = await open_backend(settings)
    graph = KnowledgeGraph(backend, load_catalogue())
    storage = SqliteStorage(settings.database_path)
    try:
        await graph.apply_schema()
        if args.action == "export":
            return await graph.export_knowledge()
        if args.action == "import":
            doc = parse_knowledge(json.loads(text or ""))
            return {"imported": await import_knowledge(graph, doc)}
        return await GraphUpkeep(graph, storage).rebuild()
    finally:
        storage.close()
        await backend.close()


def run(args: argparse.Namespace, settings: Settings | None) -> int:
    """Do the action; print its result (the export file to `file` or stdout)."""
    if args.action == "import" and not args.file:
        print("agent-bruno graph import: name the knowledge file to import", file=sys.stderr)
        return 2
    try:
        if args.offline:
            if settings is None:
                return 2
            text = Path(args.file).read_text("utf-8") if args.action == "import" else None
            result = asyncio.run(_offline(args, settings, text))
        else:
            result = _online(args)
    except (httpx.HTTPError, RuntimeError, OSError, GraphError, TransferError, ValueError) as exc:
        hint = "" if args.offline else " (is the agent running? --offline if it is stopped)"
        print(f"agent-bruno graph {args.action}: {exc}{hint}", file=sys.stderr)
        return 1
    text = json.dumps(result, indent=2, ensure_ascii=False)
    if args.action == "export" and args.file:
        Path(args.file).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {len(result['incidents'])} incident(s) to {args.file}")
    else:
        print(text)
    return 0
