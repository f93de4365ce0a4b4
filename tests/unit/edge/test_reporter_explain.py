"""Explainer with a tiny fake Ollama: prompt, explanation events, rate limit, timeout, queue."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from string import Template
from typing import Any

import httpx
import pytest

from edge_reporter.explain import PROMPT_PATH, Explainer, ExplainError, load_prompt

EVENT = {
    "type": "reading",
    "ts": 1_764_160_000.0,
    "sensor": "dht22-1",
    "metric": "temperature",
    "unit": "°C",
    "value": 28.1,
    "severity": "critical",
    "score": 0.97,
    "reason": "28.1 °C is 6.2σ above the last hour's baseline",
    "baseline": {"mean": 21.4, "std": 1.08},
}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(handler: Any, **kwargs: Any) -> tuple[Explainer, list[dict[str, Any]], httpx.AsyncClient]:
    delivered: list[dict[str, Any]] = []
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    explainer = Explainer(
        client,
        url="http://ollama:11434/",
        model="qwen2.5:0.5b",
        prompt=load_prompt(),
        deliver=delivered.append,
        context={"node": "pi-1", "location": "warehouse"},
        wall=lambda: 1_764_160_002.0,
        **kwargs,
    )
    return explainer, delivered, client


def ollama(requests: list[dict[str, Any]]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url == "http://ollama:11434/api/generate"
        requests.append(json.loads(request.content))
        return httpx.Response(
            200, json={"response": "  Probably sun on the sensor. Check its placement.  "}
        )

    return handler


async def run_until_delivered(explainer: Explainer, delivered: list[Any]) -> None:
    """Run the explainer until something is delivered (at most 1 s), then stop it."""
    task = asyncio.create_task(explainer.run())
    for _ in range(200):
        if delivered:
            break
        await asyncio.sleep(0.005)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_the_prompt_template_is_the_shipped_repository_file() -> None:
    repo_file = Path(__file__).resolve().parents[3] / "prompts" / "edge_explanation.md"
    assert PROMPT_PATH.name == "edge_explanation.md"
    assert PROMPT_PATH.read_text() == repo_file.read_text()
    assert "$sensor" in PROMPT_PATH.read_text()


def test_missing_template_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ExplainError, match=r"nope\.md"):
        load_prompt(tmp_path / "nope.md")


async def test_explanation_becomes_its_own_event() -> None:
    requests: list[dict[str, Any]] = []
    explainer, delivered, client = make(ollama(requests))
    assert explainer.submit("pi-1:ab:42", EVENT)
    await run_until_delivered(explainer, delivered)
    assert delivered == [
        {
            "type": "explanation",
            "ts": 1_764_160_002.0,
            "ref": "pi-1:ab:42",
            "text": "Probably sun on the sensor. Check its placement.",
            "model": "qwen2.5:0.5b",
        }
    ]
    [request] = requests
    assert request["stream"] is False
    assert request["model"] == "qwen2.5:0.5b"
    prompt = request["prompt"]
    for expected in ("pi-1", "warehouse", "dht22-1", "28.1 °C", "6.2σ", "21.4", "1.08"):
        assert expected in prompt
    await client.aclose()


def test_rate_limit_per_hour() -> None:
    clock = Clock()
    explainer, _, _ = make(ollama([]), max_per_hour=6, queue_size=100, clock=clock)
    accepted = [explainer.submit(f"id-{i}", EVENT) for i in range(10)]
    assert accepted == [True] * 6 + [False] * 4
    assert explainer.stats["rate_limited"] == 4
    clock.now = 3599.0
    assert not explainer.submit("late", EVENT)
    clock.now = 3600.0
    assert explainer.submit("next-hour", EVENT)


def test_full_queue_drops_instead_of_waiting() -> None:
    explainer, _, _ = make(ollama([]), max_per_hour=100, queue_size=2)
    assert [explainer.submit(str(i), EVENT) for i in range(3)] == [True, True, False]
    assert explainer.stats["dropped"] == 1


async def test_slow_model_times_out_and_the_next_one_goes_on() -> None:
    calls = {"n": 0}

    async def slow_then_fast(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            await asyncio.sleep(5)
        return httpx.Response(200, json={"response": "fine"})

    explainer, delivered, client = make(slow_then_fast, timeout_s=0.05)
    explainer.submit("slow", EVENT)
    explainer.submit("fast", EVENT)
    await run_until_delivered(explainer, delivered)
    assert [d["ref"] for d in delivered] == ["fast"]
    assert explainer.stats["failed"] == 1
    await client.aclose()


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, text="model not loaded"),
        httpx.Response(200, json={"response": ""}),
        httpx.Response(200, text="<html>"),
    ],
)
async def test_bad_answers_raise_explain_error(response: httpx.Response) -> None:
    explainer, _, client = make(lambda request: response)
    with pytest.raises(ExplainError):
        await explainer.explain(EVENT)
    await client.aclose()


async def test_unreachable_ollama_raises_explain_error() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    explainer, _, client = make(down)
    with pytest.raises(ExplainError, match="unreachable"):
        await explainer.explain(EVENT)
    await client.aclose()


def test_render_survives_missing_fields() -> None:
    explainer, _, _ = make(ollama([]))
    explainer._prompt = Template("$sensor $value $baseline_mean $unknown")
    assert explainer.render({"sensor": "s", "value": None}) == "s  unknown $unknown"


async def test_a_failing_deliver_does_not_stop_the_explainer() -> None:
    explainer, _, client = make(ollama([]))
    delivered: list[str] = []

    def deliver(event: dict[str, Any]) -> None:
        if event["ref"] == "first":
            raise OSError("disk full")
        delivered.append(event["ref"])

    explainer._deliver = deliver
    explainer.submit("first", EVENT)
    explainer.submit("second", EVENT)
    await run_until_delivered(explainer, delivered)
    assert delivered == ["second"]
    await client.aclose()
