"""The `agent-bruno` command: `serve` runs the service, `ask` asks a running one a question."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from agent_bruno.settings import ClientSettings, Settings

Command = Callable[[argparse.Namespace], int]


def load_settings() -> Settings | None:
    """Settings from the environment, or None after printing why they are refused."""
    try:
        return Settings()
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            where = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            print(
                f"agent-bruno: invalid setting{' ' + where if where else ''}: {msg}",
                file=sys.stderr,
            )
        return None


def tune_gc() -> None:
    """Keep start-up objects out of the cyclic GC and collect young objects less often.

    A bulk import allocates several objects per reading; with the default gen-0 threshold
    (700) one 5,000-reading batch triggered dozens of collections and widened its p99.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def tune_threads() -> None:
    """Hand the GIL back to the event loop sooner when worker threads are busy.

    The agent's runs read storage and build vocabularies in worker threads; with the default
    5 ms switch interval an ingest request waited for them in 5 ms slices (the chat bench).
    """
    sys.setswitchinterval(0.001)


def serve(args: argparse.Namespace) -> int:
    """Run the HTTP service with uvicorn (uvloop, httptools, one worker)."""
    import uvicorn

    from agent_bruno.api.server import GuardedHttpToolsProtocol
    from agent_bruno.app import create_served_app

    settings = load_settings()
    if settings is None:
        return 2
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_served_app(settings)
    tune_gc()
    tune_threads()
    protocol = GuardedHttpToolsProtocol.configure(
        header_timeout_s=settings.header_timeout_s,
        max_per_client=settings.max_connections_per_client,
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=protocol,  # httptools, with header/body timeouts and a per-client cap
        limit_concurrency=settings.max_connections,  # connections + tasks; 503 beyond
        timeout_keep_alive=5,
        access_log=settings.access_log,
        log_level=args.log_level,
        workers=1,
        # SIGTERM: /chat streams end at once (error + done); anything else open gets this long
        # before it is cut, inside the 30 s a pod has before SIGKILL.
        timeout_graceful_shutdown=20,
    )
    return 0


def ask(args: argparse.Namespace) -> int:
    """Ask the agent at `--url` a question; the answer streams to stdout."""
    from agent_bruno.ask import run

    try:
        client = ClientSettings()
    except ValidationError as exc:
        print(f"agent-bruno ask: invalid setting: {exc}", file=sys.stderr)
        return 2
    token = args.token or (
        client.api_token.get_secret_value() if client.api_token is not None else None
    )
    return run(
        args.url or client.url,
        " ".join(args.question),
        token=token,
        thread_id=args.thread,
        as_json=args.json,
        verbose=args.verbose,
    )


def graph(args: argparse.Namespace) -> int:
    """Rebuild the knowledge graph, or export / import what people taught it."""
    from agent_bruno.knowledge import cli as graph_cli

    return graph_cli.run(args, load_settings() if args.offline else None)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    """The argument parser and the function of each subcommand."""
    parser = argparse.ArgumentParser(
        prog="agent-bruno", description="agent-bruno: sensor ingest, storage and read API"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    commands: dict[str, Command] = {}
    p_serve = sub.add_parser("serve", help="run the ingest and read API (settings: AGENT_BRUNO_*)")
    p_serve.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    commands["serve"] = serve
    p_ask = sub.add_parser(
        "ask",
        help="ask a running agent a question; the answer streams to stdout",
        description="Ask the agent a question over /chat (SSE). Exit codes: 0 answered, "
        "1 the agent failed or could not be reached, 2 usage or a refused question.",
    )
    p_ask.add_argument("question", nargs="+", help="the question (quote it, or several words)")
    p_ask.add_argument(
        "--url", default=None, help="the agent (default AGENT_BRUNO_URL or http://127.0.0.1:30120)"
    )
    p_ask.add_argument("--token", default=None, help="API token (default AGENT_BRUNO_API_TOKEN)")
    p_ask.add_argument("--thread", default=None, help="continue the conversation with this id")
    p_ask.add_argument("--json", action="store_true", help="print the whole reply as JSON")
    p_ask.add_argument(
        "-v", "--verbose", action="store_true", help="show tool calls and the thread id on stderr"
    )
    commands["ask"] = ask
    from agent_bruno.knowledge import cli as graph_cli

    graph_cli.add_parser(sub)
    commands["graph"] = graph
    return parser, commands


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the chosen subcommand."""
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    return commands[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
