"""`make demo`: the agent and three simulated Pi reporters on this machine, until Ctrl-C.

Everything listens on loopback only. Tokens are generated per run; data lives in `var/demo/`
(wiped at start unless `--keep`). Faults are injected so anomalies show up within a minute:
a DHT22 glitch past the sensor's range (critical, by hard limit), a stuck humidity sensor
(warning, by the stuck rule), and a CO2 step and a temperature step that the statistical detector
flags once it has learnt its baseline (150 readings).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx

from agent_bruno.alerts.receiver import receiver
from agent_bruno.alerts.receiver import show as show_notification
from agent_bruno.demo_history import history
from agent_bruno.demo_recurrence import RECURRING_FAULT, show_recurrence
from agent_bruno.localrun import NotReady, port_free, spawn, tail, wait_ready

SENSORS = "sim-dht22:dht22-1,sim-pressure:bmp280-1,sim-motion:pir-1,sim-co2:mhz19-1,node"


@dataclass(frozen=True, slots=True)
class DemoNode:
    """One simulated Pi."""

    node: str
    location: str
    read_port: int
    faults: str
    workloads: str


NODES = (
    DemoNode(
        "pi-node-1",
        "warehouse",
        9108,
        "dht22-1/temperature:spike@20:+70,dht22-1/temperature:step@200:+6:for10m",
        "edge-reporter,mosquitto",
    ),
    DemoNode(
        "pi-node-2",
        "warehouse-b",
        9109,
        # The stuck humidity, and a temperature spike twice (the recorded cause is recalled).
        f"dht22-1/humidity:stuck@25:for8m,{RECURRING_FAULT}",
        "edge-reporter,zigbee2mqtt",
    ),
    DemoNode(
        "pi-node-3",
        "server-room",
        9110,
        # The humidity dip is for the alert part: below 30 % from ~100 s for 3 minutes.
        "mhz19-1/co2:step@190:+900:for10m,dht22-1/humidity:step@100:-30:for3m",
        # camera-5's video processing, simulated: it keeps pi-node-3's CPU high.
        "camera-5-video@vision=82,edge-reporter@agent-bruno=2,frigate@vision=4",
    ),
)


EXAMPLE_QUESTIONS = (
    "What's the temperature in the warehouse?",
    "List all Pi nodes and their health status",
    "Show me sensor anomalies in the last hour",
    "Why is pi-node-3 under high load?",
    "What runs on pi-node-3?",
    "What happened in warehouse-b before?",
    "Show me all sensor readings from warehouse Pi nodes in the last hour",
)


class DemoError(RuntimeError):
    """The demo cannot start; the message says why and what to do."""


# The alert part: a printing webhook receiver is the agent's default channel, and the seed's
# sentence creates a rule (with its backtest) before the humidity dip fires and resolves it.
SEED_SUBSCRIPTION = "Alert me if humidity drops below 30%"
# Every demo room has humidity, so the agent asks which; the dip is in the server room.
SEED_ANSWER = "the server room"


def alert_env(hook_url: str, secret: str) -> dict[str, str]:
    """Agent settings that make the demo's receiver the default alert channel."""
    return {
        "AGENT_BRUNO_ALERT_DEFAULT_URL": hook_url,
        "AGENT_BRUNO_ALERT_DEFAULT_SECRET": secret,
        "AGENT_BRUNO_ALERT_ALLOW_HOSTS": "127.0.0.1/32",  # loopback receivers only
        "AGENT_BRUNO_ALERT_GROUP_WAIT_S": "5",
        "AGENT_BRUNO_ALERT_GROUP_INTERVAL_S": "10",
    }


def show_subscription(
    url: str, sentence: str = SEED_SUBSCRIPTION, answer: str = SEED_ANSWER
) -> None:
    """Create the seed's subscription through POST /query and print the agent's answers: the
    demo's three rooms all have humidity, so the agent asks which, and the demo answers in the
    same thread."""
    print("Subscribing in plain language (POST /query):\n", flush=True)
    thread: str | None = None
    with httpx.Client(timeout=60.0) as client:
        for turn, said in enumerate((sentence, answer)):
            try:
                params = {"thread_id": thread} if thread else {}
                r = client.post(f"{url}/query", content=said, params=params)
                reply = r.text.rstrip() if r.status_code == 200 else _error_text(r)
                thread = r.headers.get("x-thread-id", thread)
            except httpx.HTTPError as exc:
                reply = f"(no answer: {type(exc).__name__}: {exc})"
            shown = f"'{url}/query?thread_id={thread}'" if turn else f"{url}/query"
            print(f"$ curl {shown} -d {json.dumps(said)}", flush=True)
            print("  " + reply.replace("\n", "\n  ") + "\n", flush=True)
            if not reply.startswith("Which "):
                break  # nothing asked: the sentence created the rule (or failed) at once
    print(
        "The server room's humidity dips below 30 % about 100 s after start for 3 minutes: "
        "the receiver below prints the firing notification, then the resolve.\n",
        flush=True,
    )


Procs = list[tuple[str, subprocess.Popen[bytes], Path]]


def _check_alive(procs: Procs) -> None:
    """Raise DemoError, with its log's tail, if any process has exited."""
    for name, proc, log in procs:
        if proc.poll() is not None:
            raise DemoError(f"{name} exited with code {proc.returncode}:\n{tail(log)}")


def _has_data(client: httpx.Client, url: str) -> bool:
    """Whether every node has reported and the warehouse has temperature aggregates."""
    nodes = client.get(f"{url}/v1/nodes").json().get("nodes", [])
    if {n["node"] for n in nodes} != {n.node for n in NODES}:
        return False
    params = {"metric": "temperature", "start": "-15m", "step": "300"}
    series = client.get(f"{url}/v1/series", params=params).json().get("series", [])
    return sum(len(s.get("points", [])) for s in series) >= 2


def wait_for_data(url: str, procs: Procs, timeout: float = 90.0) -> bool:
    """Wait until the reporters' first aggregates are stored (False if `timeout` passes)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            _check_alive(procs)
            try:
                if _has_data(client, url):
                    return True
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(1.0)
    return False


def seed_history(url: str) -> str:
    """Import the demo's past incidents (what people taught the graph before today)."""
    with httpx.Client(timeout=30.0) as client:
        r = client.post(f"{url}/v1/graph/import", content=json.dumps(history(time.time())))
    if r.status_code != 200:
        return f"(the demo's past incidents were not imported: {_error_text(r)})"
    counts = r.json()["imported"]
    return (
        f"Seeded the knowledge graph with {counts['incidents']} past incidents and their "
        f"{counts['episodes']} anomaly episodes (warehouse-b, server-room)."
    )


def show_graph(url: str) -> None:
    """Print what the graph knows of pi-node-3 and warehouse-b, from its API."""
    with httpx.Client(timeout=30.0) as client:
        deadline = time.monotonic() + 15  # the upkeep writes its batch every few seconds
        node = client.get(f"{url}/v1/graph/context", params={"node": "pi-node-3"})
        while node.status_code == 404 and time.monotonic() < deadline:
            time.sleep(1.0)
            node = client.get(f"{url}/v1/graph/context", params={"node": "pi-node-3"})
        if node.status_code == 200:
            ctx = node.json()["context"]
            runs = ", ".join(
                f"{w['name']} ({w['cpu_percent']:.0f} % CPU)"
                if w.get("cpu_percent") is not None
                else w["name"]
                for w in ctx["workloads"]
            )
            print(f"The graph: pi-node-3 ({ctx['location']}) runs {runs or 'nothing reported'}.")
        past = client.get(f"{url}/v1/incidents", params={"location": "warehouse-b"})
        if past.status_code == 200:
            for i in past.json()["incidents"]:
                causes = "; ".join(c["description"] for c in i["root_causes"])
                print(f"The graph: warehouse-b incident {i['title']!r}, root cause {causes}.")
    print(flush=True)


def show_examples(url: str, questions: Sequence[str] = EXAMPLE_QUESTIONS) -> None:
    """Ask each question with `POST /query` and print it with its answer."""
    print("Asking the agent a few questions (POST /query):\n", flush=True)
    with httpx.Client(timeout=60.0) as client:
        for question in questions:
            try:
                r = client.post(f"{url}/query", content=question)
                answer = r.text.rstrip() if r.status_code == 200 else _error_text(r)
            except httpx.HTTPError as exc:
                answer = f"(no answer: {type(exc).__name__}: {exc})"
            print(f"$ curl {url}/query -d {json.dumps(question)}", flush=True)
            print("  " + answer.replace("\n", "\n  ") + "\n", flush=True)


def _error_text(response: httpx.Response) -> str:
    """An error answer as one line."""
    try:
        return f"(HTTP {response.status_code}: {response.json()['error']})"
    except (ValueError, KeyError, TypeError):
        return f"(HTTP {response.status_code}: {response.text[:200]})"


def _ask_command() -> str:
    """How to run `agent-bruno ask` from here: the venv's script if it exists."""
    script = Path(sys.executable).parent / "agent-bruno"
    if script.exists():
        try:
            return str(script.relative_to(Path.cwd()))
        except ValueError:
            return str(script)
    return f"{sys.executable} -m agent_bruno.cli"


def _now_iso() -> str:
    """Now, as ISO 8601 (UTC) for the example incident."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _banner(url: str, read_tokens: dict[str, str], data_dir: Path, hook_url: str = "") -> str:
    first = NODES[0]
    return f"""
agent-bruno demo is running: {url}
  agent log: {data_dir / "agent.log"}   reporter logs: {data_dir}/<node>.log

Three simulated Pis report every second: {", ".join(f"{n.node} ({n.location})" for n in NODES)}.
Injected faults: a DHT22 glitch in the warehouse at ~20 s, a humidity sensor in warehouse-b
stuck from ~25 s for 8 minutes (flagged once it has held still for 2 minutes), then a CO2
step in the server room and a temperature step in the warehouse at ~3.5 min (once the
detector has learnt its baseline), and a temperature jump in warehouse-b at ~70 s and again at
~200 s: the first one's cause is recorded, the second is explained by it (printed here).

Ask the agent (built-in language understanding; set AGENT_BRUNO_OLLAMA_URL to use a model):
  curl {url}/query -d "What's the temperature in the warehouse?"
  curl -s {url}/query -H 'Accept: application/json' -d "Why is pi-node-3 under high load?" \\
       | python3 -m json.tool
  curl -N '{url}/chat?q=Show+me+sensor+anomalies+in+the+last+hour'
  {_ask_command()} ask -v "List all Pi nodes and their health status"

Alerts go to the receiver printing here ({hook_url}); subscribe and manage in plain language:
  curl {url}/query -d "page me on critical anomalies in warehouse-b"
  curl {url}/query -d "what am I subscribed to?"
  curl {url}/query -d "how often would 28% have fired last week?"
  curl -s {url}/v1/subscriptions | python3 -m json.tool
  curl -s {url}/v1/notifications | python3 -m json.tool

The knowledge graph (LadybugDB in {data_dir / "agent" / "graph.lbdb"}):
  curl -s '{url}/v1/graph/context?node=pi-node-3' | python3 -m json.tool     # what runs there
  curl -s '{url}/v1/incidents?location=warehouse-b' | python3 -m json.tool   # what happened before
  curl -s {url}/v1/incidents -H 'Content-Type: application/json' \\
       -d '{{"location": "warehouse-b", "started": "{_now_iso()}", "status": "resolved",
            "root_cause": {{"description": "HVAC malfunction"}}, "by": "you"}}'  # record one
  curl -s {url}/readyz | python3 -m json.tool                                 # graph state

Read the data (reads are open because the demo listens on loopback only):
  curl -s {url}/v1/nodes | python3 -m json.tool
  curl -s '{url}/v1/anomalies?start=-1h' | python3 -m json.tool
  curl -s '{url}/v1/series?metric=temperature&location=warehouse&start=-15m&step=60' \\
       | python3 -m json.tool
  curl -s {url}/v1/catalog | python3 -m json.tool
  curl -s {url}/metrics | grep '^bruno_'
  curl -s -H 'Authorization: Bearer {read_tokens[first.node]}' \\
       'http://127.0.0.1:{first.read_port}/v1/readings?sensor=dht22-1&metric=temperature&limit=20'

Press Ctrl-C to stop.
"""


def run(
    port: int, data_dir: Path, keep: bool, duration: float | None, examples: bool = True
) -> int:
    """Start everything, print how to use it, and supervise until Ctrl-C or `duration`."""
    for p in (port, *(n.read_port for n in NODES)):
        if not port_free(p):
            raise DemoError(f"port {p} on 127.0.0.1 is in use; stop what uses it and retry")
    if data_dir.exists() and not keep:
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    tokens = {n.node: secrets.token_urlsafe(24) for n in NODES}
    read_tokens = {n.node: secrets.token_urlsafe(24) for n in NODES}
    procs: Procs = []
    hook_secret = secrets.token_urlsafe(24)
    resources = contextlib.ExitStack()
    hook = resources.enter_context(receiver(secret=hook_secret, on_receive=show_notification))

    def stop_all() -> None:
        for _, proc, _ in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, proc, _ in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    def on_term(signum: int, frame: FrameType | None) -> None:
        # Once: `timeout` signals the demo and then its whole process group, and a second
        # KeyboardInterrupt inside stop_all() skipped the cleanup (the demo then hung at exit,
        # holding the demo lock).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        agent_log = data_dir / "agent.log"
        agent_env = {
            "AGENT_BRUNO_HOST": "127.0.0.1",
            "AGENT_BRUNO_PORT": str(port),
            "AGENT_BRUNO_DATA_DIR": str(data_dir / "agent"),
            "AGENT_BRUNO_REPORTER_TOKENS": ",".join(f"{k}={v}" for k, v in tokens.items()),
            # The agent reads raw data from each reporter's endpoint when asked to drill down.
            "AGENT_BRUNO_REPORTER_READ_TOKENS": ",".join(
                f"{k}={v}" for k, v in read_tokens.items()
            ),
            **alert_env(hook.url + "/demo-hook", hook_secret),
        }
        agent = spawn(["agent_bruno.cli", "serve"], agent_env, agent_log)
        procs.append(("agent", agent, agent_log))
        try:
            wait_ready(url, agent, agent_log, timeout=90)  # a loaded 2-core machine can take 30 s
        except NotReady as exc:
            raise DemoError(str(exc)) from None
        print(seed_history(url), flush=True)
        reporters_started = time.time()
        for i, n in enumerate(NODES):
            log = data_dir / f"{n.node}.log"
            env = {
                "STUDIO_AGENT_URL": url,
                "AGENT_TOKEN": tokens[n.node],
                "NODE_NAME": n.node,
                "LOCATION": n.location,
                "CLUSTER": "homelab",
                "REPORT_INTERVAL": "1",
                "AGGREGATE_INTERVAL": "15",
                "SENSORS": SENSORS,
                "FAULTS": n.faults,
                "WORKLOADS": n.workloads,
                "DATA_DIR": str(data_dir / n.node),
                "READ_API_BIND": "127.0.0.1",
                "READ_API_PORT": str(n.read_port),
                "READ_API_TOKEN": read_tokens[n.node],
                "READ_API_URL": f"http://127.0.0.1:{n.read_port}",
                "SEED": str(i + 1),
            }
            procs.append((n.node, spawn(["edge_reporter"], env, log), log))
        deadline = None if duration is None else time.monotonic() + duration
        if examples:
            print(
                f"agent-bruno demo: waiting for the reporters' first data at {url} ...", flush=True
            )
            if not wait_for_data(url, procs):
                print("(the reporters have sent little data so far; answers may be sparse)")
            show_graph(url)
            show_examples(url)
            show_subscription(url)
            # Its output comes minutes later, between the alert receiver's, like theirs.
            threading.Thread(
                target=show_recurrence, args=(url, reporters_started), daemon=True
            ).start()
        print(_banner(url, read_tokens, data_dir, hook.url), flush=True)
        while deadline is None or time.monotonic() < deadline:
            _check_alive(procs)
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
    finally:
        stop_all()
        resources.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the demo; a start-up problem exits 1 with the reason."""
    parser = argparse.ArgumentParser(prog="python -m agent_bruno.demo", description=__doc__)
    parser.add_argument("--port", type=int, default=30120, help="agent port (default 30120)")
    parser.add_argument("--data-dir", type=Path, default=Path("var/demo"))
    parser.add_argument("--keep", action="store_true", help="keep data from the last run")
    parser.add_argument("--duration", type=float, default=None, help="stop after N seconds")
    parser.add_argument(
        "--no-examples", action="store_true", help="skip asking the example questions at start"
    )
    args = parser.parse_args(argv)
    try:
        return run(args.port, args.data_dir, args.keep, args.duration, not args.no_examples)
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
