"""`agent-bruno ask` against `agent-bruno serve` running as a real process on loopback."""

from __future__ import annotations

import io
import json
import signal
import time
from collections.abc import Iterator

import httpx
import pytest

from agent_bruno.ask import Printer, SseEvent, parse_sse
from agent_bruno.cli import main
from agent_bruno.localrun import free_port, serve_agent
from tests.servers.loopback import refused_url
from tests.unit.agent.helpers import API_TOKEN, NODE1_TOKEN, aggregate, auth, envelope, heartbeat


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The agent serving on a free port, with a warehouse node that reported just now."""
    data = tmp_path_factory.mktemp("ask")
    port = free_port()
    env = {"AGENT_BRUNO_REPORTER_TOKENS": f"pi-node-1={NODE1_TOKEN}",
           "AGENT_BRUNO_API_TOKEN": API_TOKEN}  # fmt: skip
    with serve_agent(data, port, env, log=data / "serve.log") as proc:
        try:
            base = f"http://127.0.0.1:{port}"
            now = time.time()
            start = float(int(now // 300) * 300 - 600)
            temps = [
                aggregate(i, start=start + 300 * i, metric="temperature", unit="°C",
                          min=20.0, max=22.0, mean=21.0, last=21.5)
                for i in range(2)
            ]  # fmt: skip
            r = httpx.post(
                f"{base}/v1/events",
                json=envelope([*temps, heartbeat(1, ts=now)]),
                headers=auth(NODE1_TOKEN),
            )
            assert r.json()["accepted"] == 3
            yield base
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)


def ask(capsys, *argv: str) -> tuple[int, str, str]:
    """Run `agent-bruno ask ...`; the exit code, stdout and stderr."""
    code = main(["ask", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.e2e
def test_the_answer_streams_to_stdout(server, capsys):
    code, out, err = ask(
        capsys, "--url", server, "--token", API_TOKEN, "What's the temperature in the warehouse?"
    )
    assert code == 0, err
    assert "warehouse" in out
    assert "21.5 °C" in out
    assert out.endswith("\n")
    assert err == ""


@pytest.mark.e2e
def test_verbose_shows_tool_calls_on_stderr_and_json_the_whole_reply(server, capsys):
    code, out, err = ask(
        capsys, "--url", server, "--token", API_TOKEN, "-v", "--json", "List all Pi nodes"
    )
    assert code == 0, err
    reply = json.loads(out)
    assert {"answer", "thread_id", "mode", "fallback", "duration_s", "calls"} <= set(reply)
    assert "pi-node-1" in reply["answer"]
    (first, *_) = reply["calls"]
    assert f"→ {first['name']}(" in err
    assert f"← {first['name']}: {first['status']}" in err
    assert f"--thread {reply['thread_id']}" not in err  # --json carries it instead


@pytest.mark.e2e
def test_a_follow_up_uses_the_thread(server, capsys, monkeypatch):
    monkeypatch.setenv("AGENT_BRUNO_API_TOKEN", API_TOKEN)  # read like the server's setting
    code, out, _ = ask(
        capsys, "--url", server, "--json", "--thread", "cli-1", "temperature in the warehouse?"
    )
    assert code == 0
    assert json.loads(out)["thread_id"] == "cli-1"
    code, out, _ = ask(capsys, "--url", server, "--thread", "cli-1", "and", "in", "fahrenheit?")
    assert code == 0
    assert "70.7 °F" in out  # 21.5 °C in the warehouse, remembered from the thread's first turn
    assert "warehouse" in out


@pytest.mark.e2e
def test_a_wrong_token_says_what_to_do(server, capsys):
    code, out, err = ask(capsys, "--url", server, "--token", "x" * 24, "List all Pi nodes")
    assert code == 1
    assert out == ""
    assert f"the agent at {server} refused the request" in err
    assert "AGENT_BRUNO_API_TOKEN" in err


def test_an_unreachable_agent_names_the_url(capsys):
    with refused_url() as url:
        code, _, err = ask(capsys, "--url", url, "List all Pi nodes")
    assert code == 1
    assert f"cannot reach the agent at {url}" in err
    assert "agent-bruno serve" in err


@pytest.mark.e2e
def test_usage_errors_exit_2(server, capsys):
    assert ask(capsys, "--url", server, "--token", API_TOKEN, "  ")[0] == 2
    code, _, err = ask(capsys, "--url", server, "--token", API_TOKEN, "x" * 2001)
    assert code == 2
    assert "the limit is 2000" in err
    with pytest.raises(SystemExit) as info:
        main(["ask"])
    assert info.value.code == 2


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["event: token", 'data: {"text": "Hi"}', ""], [SseEvent("token", {"text": "Hi"})]),
        ([": ping - 2026", "", "event: done", "data: {}", ""], [SseEvent("done", {})]),
        (["data: plain", "data: two", ""], [SseEvent("message", "plain\ntwo")]),
        (["event: status", 'data:{"a":1}', "", "event: x"], [SseEvent("status", {"a": 1})]),
    ],
)
def test_parse_sse(lines, expected):
    assert list(parse_sse(lines)) == expected


def test_a_reset_replaces_the_tokens_shown_with_the_final_answer():
    out, err = io.StringIO(), io.StringIO()
    printer = Printer(out, err)
    for name, data in [
        ("status", {"message": "question received"}),
        ("token", {"text": "The model sa"}),
        ("status", {"reset": True, "message": "model timed out; built-in answer follows"}),
        ("token", {"text": "21.5 °C"}),
        ("answer", {"answer": "21.5 °C in the warehouse", "mode": "builtin", "fallback": "x"}),
        ("done", {"thread_id": "t", "duration_s": 0.1}),
    ]:
        printer.handle(SseEvent(name, data))
    assert out.getvalue() == "The model sa\n21.5 °C in the warehouse\n"
    assert "built-in answer follows" in err.getvalue()
    assert printer.result()["fallback"] == "x"


def test_ask_subcommand_is_registered():
    from agent_bruno.cli import build_parser

    parser, commands = build_parser()
    args = parser.parse_args(["ask", "--thread", "t1", "-v", "hello", "there"])
    assert (args.command, args.question, args.thread, args.verbose) == (
        "ask",
        ["hello", "there"],
        "t1",
        True,
    )
    assert "ask" in commands
