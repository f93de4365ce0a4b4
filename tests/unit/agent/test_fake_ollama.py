"""FakeOllama is faithful: the real langchain-ollama and ollama clients work against it.

Several tests pin what ChatOllama does with bad model output; the agent relies on these.
"""

from __future__ import annotations

import httpx
import ollama
import orjson
import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langchain_ollama import ChatOllama
from pydantic import ValidationError

from tests.fakes.ollama import FakeOllama, Reply, ToolCallSpec

MODEL = "qwen2.5:3b"


@tool
def latest_reading(sensor: str, window_minutes: int = 60) -> str:
    """Return the latest reading of a sensor."""
    return f"{sensor}: 21.5"


async def test_chat_ollama_bound_tools_returns_the_scripted_tool_call() -> None:
    async with FakeOllama(
        [Reply(tool_calls=[ToolCallSpec("latest_reading", {"sensor": "t1"})])]
    ) as fake:
        model = ChatOllama(base_url=fake.url, model=MODEL).bind_tools([latest_reading])
        answer = await model.ainvoke("How warm is t1?")

    assert isinstance(answer, AIMessage)
    assert [(c["name"], c["args"]) for c in answer.tool_calls] == [
        ("latest_reading", {"sensor": "t1"})
    ]
    assert answer.invalid_tool_calls == []
    (sent_tools,) = fake.tools_received
    assert [t["function"]["name"] for t in sent_tools] == ["latest_reading"]
    assert sent_tools[0]["function"]["parameters"]["required"] == ["sensor"]
    assert fake.chat_requests[0]["messages"] == [{"role": "user", "content": "How warm is t1?"}]


async def test_chat_ollama_streams_a_plain_reply_token_by_token() -> None:
    async with FakeOllama([Reply("It is 21.5 degrees in the kitchen.")]) as fake:
        model = ChatOllama(base_url=fake.url, model=MODEL)
        chunks = [chunk async for chunk in model.astream("How warm is it?")]

    texts = [c.text for c in chunks if c.text]
    assert len(texts) == 7
    assert "".join(texts) == "It is 21.5 degrees in the kitchen."
    assert fake.chat_requests[0]["stream"] is True


async def test_chat_ollama_reports_usage_from_the_final_chunk() -> None:
    async with FakeOllama([Reply("three word answer")]) as fake:
        answer = await ChatOllama(base_url=fake.url, model=MODEL).ainvoke("q")

    assert answer.text == "three word answer"
    assert isinstance(answer, AIMessage)
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["output_tokens"] == 3
    assert answer.response_metadata["done_reason"] == "stop"


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param("not json {", id="non-json-string"),
        # Old Ollama builds sent arguments JSON-encoded; the current client refuses even that.
        pytest.param('{"sensor": "t1"}', id="json-encoded-string"),
        pytest.param(["t1"], id="list"),
    ],
)
async def test_tool_call_arguments_not_an_object_raise_pydantic_validation_error(
    arguments: object,
) -> None:
    """ChatOllama never yields invalid_tool_calls here: ollama's ChatResponse model raises."""
    script = [Reply(tool_calls=[ToolCallSpec("latest_reading", arguments)])]
    async with FakeOllama(script) as fake:
        model = ChatOllama(base_url=fake.url, model=MODEL).bind_tools([latest_reading])
        with pytest.raises(ValidationError, match=r"function\.arguments"):
            await model.ainvoke("q")


async def test_tool_call_without_function_raises_pydantic_validation_error() -> None:
    script = [Reply(raw_tool_calls=[{"name": "latest_reading", "arguments": {}}])]
    async with FakeOllama(script) as fake:
        model = ChatOllama(base_url=fake.url, model=MODEL).bind_tools([latest_reading])
        with pytest.raises(ValidationError, match=r"tool_calls\.0\.function"):
            await model.ainvoke("q")


async def test_tool_call_to_an_unknown_tool_is_returned_as_a_valid_tool_call() -> None:
    """The client does not check names against the bound tools; the agent has to."""
    async with FakeOllama([Reply(tool_calls=[ToolCallSpec("rm_rf", {"path": "/"})])]) as fake:
        model = ChatOllama(base_url=fake.url, model=MODEL).bind_tools([latest_reading])
        answer = await model.ainvoke("q")

    assert isinstance(answer, AIMessage)
    assert [c["name"] for c in answer.tool_calls] == ["rm_rf"]


async def test_reply_slower_than_the_client_timeout_raises_httpx_read_timeout() -> None:
    async with FakeOllama([Reply("late", delay_s=3.0)]) as fake:
        model = ChatOllama(base_url=fake.url, model=MODEL, client_kwargs={"timeout": 0.1})
        with pytest.raises(httpx.ReadTimeout):
            await model.ainvoke("q")


async def test_exhausted_script_raises_ollama_response_error_500() -> None:
    async with FakeOllama([]) as fake:
        with pytest.raises(ollama.ResponseError, match="script exhausted") as caught:
            await ChatOllama(base_url=fake.url, model=MODEL).ainvoke("q")
    assert caught.value.status_code == 500


async def test_unknown_model_is_refused_with_404_like_ollama() -> None:
    async with FakeOllama([Reply("unused")], model=MODEL) as fake:
        with pytest.raises(ollama.ResponseError, match="not found") as caught:
            await ChatOllama(base_url=fake.url, model="llama3:8b").ainvoke("q")
    assert caught.value.status_code == 404
    assert fake.replies_left == 1


def test_validate_model_on_init_passes_for_the_served_model() -> None:
    with FakeOllama() as fake:
        ChatOllama(base_url=fake.url, model=MODEL, validate_model_on_init=True)
        with pytest.raises(ValueError, match="not found in Ollama"):
            ChatOllama(base_url=fake.url, model="mistral", validate_model_on_init=True)


async def test_ollama_async_client_chat_stream_and_metadata_endpoints() -> None:
    script = [
        Reply("hello there"),
        Reply("", tool_calls=[ToolCallSpec("latest_reading", {"sensor": "t2"})]),
    ]
    async with FakeOllama(script) as fake, ollama.AsyncClient(host=fake.url) as client:
        parts = [p async for p in await client.chat(model=MODEL, messages=[], stream=True)]
        whole = await client.chat(model=MODEL, messages=[{"role": "user", "content": "t2?"}])
        tags = await client.list()
        shown = await client.show(MODEL)
        async with httpx.AsyncClient() as http:
            version = (await http.get(f"{fake.url}/api/version")).json()

    assert [p.message.content for p in parts] == ["hello ", "there", ""]
    assert parts[-1].done is True
    assert parts[-1].eval_count == 2
    assert whole.done is True
    assert whole.message.tool_calls is not None
    assert whole.message.tool_calls[0].function.name == "latest_reading"
    assert whole.message.tool_calls[0].function.arguments == {"sensor": "t2"}
    assert [m.model for m in tags.models] == [MODEL]
    assert shown.capabilities == ["completion", "tools"]
    assert version["version"]
    assert fake.chat_requests[1]["stream"] is False


async def test_bearer_token_is_required_when_configured() -> None:
    async with FakeOllama([Reply("ok")], token="s3cret") as fake:
        async with ollama.AsyncClient(host=fake.url) as anonymous:
            with pytest.raises(ollama.ResponseError) as caught:
                await anonymous.chat(model=MODEL, messages=[])
        headers = {"Authorization": "Bearer s3cret"}
        async with ollama.AsyncClient(host=fake.url, headers=headers) as client:
            answer = await client.chat(model=MODEL, messages=[])

    assert caught.value.status_code == 401
    assert answer.message.content == "ok"
    assert fake.requests[-1].headers["authorization"] == "Bearer s3cret"


async def test_openai_chat_completions_non_streaming_with_tool_calls() -> None:
    script = [
        Reply("The answer."),
        Reply(tool_calls=[ToolCallSpec("latest_reading", {"sensor": "t3"})]),
        Reply("nope", status=503),
    ]
    body = {"model": MODEL, "messages": [{"role": "user", "content": "q"}], "temperature": 0.2}
    async with FakeOllama(script) as fake, httpx.AsyncClient(base_url=fake.url) as http:
        plain = (await http.post("/v1/chat/completions", json=body)).json()
        called = (await http.post("/v1/chat/completions", json=body)).json()
        failed = await http.post("/v1/chat/completions", json=body)

    assert plain["object"] == "chat.completion"
    assert plain["choices"][0]["message"] == {"role": "assistant", "content": "The answer."}
    assert plain["choices"][0]["finish_reason"] == "stop"
    call = called["choices"][0]["message"]["tool_calls"][0]
    assert call["type"] == "function"
    assert call["id"].startswith("call_")
    assert call["function"]["name"] == "latest_reading"
    assert orjson.loads(call["function"]["arguments"]) == {"sensor": "t3"}
    assert called["choices"][0]["finish_reason"] == "tool_calls"
    assert failed.status_code == 503
    assert failed.json()["error"]["message"] == "nope"
    assert fake.chat_requests[0]["temperature"] == 0.2


async def test_openai_chat_completions_streams_sse_chunks_then_done() -> None:
    body = {"model": MODEL, "messages": [], "stream": True}
    async with FakeOllama([Reply("one two")]) as fake, httpx.AsyncClient(base_url=fake.url) as http:
        response = await http.post("/v1/chat/completions", json=body)

    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks) == "one two"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_raw_body_is_sent_verbatim() -> None:
    async with FakeOllama([Reply(raw_body="{not json")]) as fake, httpx.AsyncClient() as http:
        response = await http.post(f"{fake.url}/api/chat", json={"model": MODEL, "stream": False})
    assert response.status_code == 200
    assert response.text == "{not json"
