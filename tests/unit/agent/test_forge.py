"""ForgeClient against FakeOllama, both API flavours, success and every failure path."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx
import orjson
import pytest

from agent_bruno.agent.forge import ForgeClient, ForgeConfig, ForgeError, pack_data
from tests.fakes.ollama import FakeOllama, Reply
from tests.servers.loopback import refused_url

MODEL = "qwen2.5:14b"
SYSTEM = "You are Forge, a careful analyst of homelab sensor data."
QUESTION = "Why did the garage humidity spike on Tuesday?"
DATA = {"sensor": "garage.humidity", "readings": [{"t": "2025-01-07T10:00Z", "v": 81.5}]}

Api = Literal["ollama", "openai"]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def forge(fake: FakeOllama, http: httpx.AsyncClient, api: Api = "ollama", **kw: Any) -> ForgeClient:
    return ForgeClient(ForgeConfig(base_url=fake.url, model=MODEL, api=api, **kw), http)


def sent_json_block(message: str) -> Any:
    match = re.search(
        r"<untrusted-data tool=\"agent data\">\n(.*)\n</untrusted-data>", message, re.DOTALL
    )
    assert match is not None, message
    return orjson.loads(match.group(1))


@pytest.mark.parametrize("api", ["ollama", "openai"])
async def test_answer_returned_and_request_carries_prompt_question_and_data(
    api: Api, http: httpx.AsyncClient
) -> None:
    async with FakeOllama([Reply("The dehumidifier stopped at 09:40.")], model=MODEL) as fake:
        answer = await forge(fake, http, api).analyze(SYSTEM, QUESTION, DATA)

    assert answer.text == "The dehumidifier stopped at 09:40."
    assert answer.model == MODEL
    assert answer.data_truncated is False
    assert answer.data_chars == len(orjson.dumps(DATA))
    assert answer.duration_s >= 0
    ((path, body, _),) = fake.requests
    assert path == ("/api/chat" if api == "ollama" else "/v1/chat/completions")
    assert body["stream"] is False
    system, user = body["messages"]
    assert system == {"role": "system", "content": SYSTEM}
    assert user["role"] == "user"
    assert user["content"].startswith(QUESTION)
    assert sent_json_block(user["content"]) == DATA
    temperature = body["options"]["temperature"] if api == "ollama" else body["temperature"]
    assert temperature == 0.2


async def test_openai_flavour_sends_the_api_key_as_bearer(http: httpx.AsyncClient) -> None:
    async with FakeOllama([Reply("ok")], model=MODEL, token="s3cret") as fake:
        answer = await forge(fake, http, "openai", api_key="s3cret").analyze(SYSTEM, QUESTION, {})
    assert answer.text == "ok"
    assert fake.requests[0].headers["authorization"] == "Bearer s3cret"


async def test_openai_base_url_ending_in_v1_is_not_doubled(http: httpx.AsyncClient) -> None:
    async with FakeOllama([Reply("ok")], model=MODEL) as fake:
        config = ForgeConfig(base_url=f"{fake.url}/v1/", model=MODEL, api="openai")
        await ForgeClient(config, http).analyze(SYSTEM, QUESTION, {})
    assert fake.requests[0].path == "/v1/chat/completions"


async def test_wrong_api_key_is_a_forge_error_with_the_status(http: httpx.AsyncClient) -> None:
    async with FakeOllama([Reply("ok")], model=MODEL, token="s3cret") as fake:
        with pytest.raises(ForgeError, match="HTTP 401") as caught:
            await forge(fake, http, "openai", api_key="wrong").analyze(SYSTEM, QUESTION, {})
    assert caught.value.retryable is False


@pytest.mark.parametrize("api", ["ollama", "openai"])
async def test_slow_forge_is_a_forge_error_naming_the_timeout(
    api: Api, http: httpx.AsyncClient
) -> None:
    async with FakeOllama([Reply("late", delay_s=5)], model=MODEL) as fake:
        client = forge(fake, http, api, timeout_s=0.05)
        with pytest.raises(ForgeError, match=r"did not answer within 0\.05 s") as caught:
            await client.analyze(SYSTEM, QUESTION, DATA)
    assert caught.value.retryable is True


@pytest.mark.parametrize("api", ["ollama", "openai"])
async def test_http_500_is_a_forge_error_with_status_and_body(
    api: Api, http: httpx.AsyncClient
) -> None:
    async with FakeOllama([Reply("CUDA out of memory", status=500)], model=MODEL) as fake:
        with pytest.raises(ForgeError, match=r"HTTP 500: .*CUDA out of memory") as caught:
            await forge(fake, http, api).analyze(SYSTEM, QUESTION, DATA)
    assert caught.value.retryable is True


@pytest.mark.parametrize("api", ["ollama", "openai"])
@pytest.mark.parametrize(
    ("raw_body", "problem"),
    [
        pytest.param("<html>bad gateway</html>", "not JSON", id="not-json"),
        pytest.param('{"done": true}', "no answer text", id="no-message"),
        pytest.param("[]", "no answer text", id="json-array"),
    ],
)
async def test_malformed_response_is_a_forge_error(
    api: Api, raw_body: str, problem: str, http: httpx.AsyncClient
) -> None:
    async with FakeOllama([Reply(raw_body=raw_body)], model=MODEL) as fake:
        with pytest.raises(ForgeError, match=f"malformed response .*{problem}"):
            await forge(fake, http, api).analyze(SYSTEM, QUESTION, DATA)


async def test_empty_answer_is_a_forge_error(http: httpx.AsyncClient) -> None:
    async with FakeOllama([Reply("  ")], model=MODEL) as fake:
        with pytest.raises(ForgeError, match="empty answer"):
            await forge(fake, http).analyze(SYSTEM, QUESTION, DATA)


async def test_connection_refused_is_a_forge_error_naming_the_url(
    http: httpx.AsyncClient,
) -> None:
    with refused_url() as url:
        client = ForgeClient(ForgeConfig(base_url=url, model=MODEL), http)
        with pytest.raises(ForgeError, match=f"cannot connect to Forge at {url}/api/chat"):
            await client.analyze(SYSTEM, QUESTION, DATA)


async def test_large_data_is_summarised_with_counts_stated(http: httpx.AsyncClient) -> None:
    readings = [
        {"t": f"2025-01-07T{i // 60:02d}:{i % 60:02d}Z", "v": 40 + i % 7} for i in range(1440)
    ]
    events = [{"kind": "door", "at": i} for i in range(30)]
    data = {"sensor": "garage.humidity", "readings": readings, "events": events}
    async with FakeOllama([Reply("Spike at 09:40.")], model=MODEL) as fake:
        answer = await forge(fake, http, max_data_chars=4_000).analyze(SYSTEM, QUESTION, data)

    assert answer.data_truncated is True
    assert answer.data_chars <= 4_000
    user = fake.chat_requests[0]["messages"][1]["content"]
    assert "Data summarised: readings (1440 items total, first " in user
    sent = sent_json_block(user)
    assert len(orjson.dumps(sent)) == answer.data_chars
    assert sent["sensor"] == "garage.humidity"
    assert sent["readings"]["items_total"] == 1440
    shown = sent["readings"]["items_shown"]
    assert 0 < shown < 1440
    assert sent["readings"]["first"] == readings[:shown]
    assert sent["events"] == events  # small lists survive whole


def test_nested_lists_are_summarised_where_they_sit() -> None:
    data = {"sensors": [{"id": "a", "readings": list(range(2000))}, {"id": "b", "readings": [1]}]}
    packed = pack_data(data, 1_000)

    assert len(packed.json) <= 1_000
    tree = orjson.loads(packed.json)
    assert tree["sensors"][0]["readings"]["items_total"] == 2000
    assert tree["sensors"][1]["readings"] == [1]
    assert packed.summarised[0].startswith("sensors[0].readings (2000 items total, first ")


def test_small_data_is_sent_whole_and_compact() -> None:
    packed = pack_data({"a": [1, 2], "b": {"c": None}}, 100)
    assert packed.json == '{"a":[1,2],"b":{"c":null}}'
    assert packed.summarised == ()


def test_data_that_cannot_fit_even_summarised_is_a_forge_error() -> None:
    with pytest.raises(ForgeError, match="max_data_chars=50; attach less data"):
        pack_data({"note": "x" * 500, "items": list(range(100))}, 50)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"base_url": "forge:11434"}, "must start with http"),
        ({"timeout_s": 0}, "timeout_s must be positive"),
        ({"max_data_chars": 0}, "max_data_chars must be positive"),
        ({"api": "grpc"}, "api must be"),
    ],
)
def test_config_refuses_bad_values(kwargs: dict[str, Any], problem: str) -> None:
    values: dict[str, Any] = {"base_url": "http://forge:11434", "model": MODEL} | kwargs
    with pytest.raises(ValueError, match=problem):
        ForgeConfig(**values)
