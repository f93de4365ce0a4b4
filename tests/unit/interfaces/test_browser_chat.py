"""The browser chat at `/` in real headless Chromium (Debian's `chromium`, driven by Playwright
through `executable_path`; no browser download): the token asked for, tokens streaming, tool
calls and results shown, a chart for a series, a table for a list, a follow-up in the same
thread, mode and freshness shown, and a lost connection said plainly and retried."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.unit.interfaces.live import LiveAgent

pytestmark = pytest.mark.e2e  # starts Chromium

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Flags that work on a machine without a screen or a network beyond loopback.
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

if not shutil.which(CHROMIUM):
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium", pytrace=False)
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any, agent: LiveAgent) -> Iterator[Page]:
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{agent.url}/")
    try:
        yield page
    finally:
        page.close()


def ask(page: Page, question: str) -> Any:
    """Type a question, send it, and wait until its turn is complete; the turn's locator."""
    turns = page.locator("section.turn")
    before = turns.count()
    page.fill("#question", question)
    page.click("#ask")
    turn = turns.nth(before)
    expect(turn).to_have_attribute("data-done", "true")
    return turn


def login(page: Page, token: str) -> None:
    if page.get_attribute("#token-box", "open") is None:
        page.click("#token-box summary")
    page.fill("#token", token)
    page.click("#token-form button")


def test_the_page_and_its_files_come_from_the_agent_itself(agent: LiveAgent):
    page = httpx.get(f"{agent.url}/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace(agent.url, "")  # nothing from elsewhere
    for name, media in (("chat.js", "text/javascript"), ("chat.css", "text/css")):
        r = httpx.get(f"{agent.url}/ui/{name}")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith(media)
    assert httpx.get(f"{agent.url}/ui/../app.py").status_code == 404


def test_a_question_streams_with_its_tools_then_a_follow_up(page: Page, agent: LiveAgent):
    threads: list[str | None] = []  # each answered /chat's X-Thread-Id
    page.on(
        "response",
        lambda r: threads.append(r.headers.get("x-thread-id")) if r.url.endswith("/chat") else None,
    )
    asked: list[dict[str, Any]] = []
    page.on(
        "request", lambda r: asked.append(r.post_data_json) if r.url.endswith("/chat") else None
    )

    # No token yet: the agent refuses, the page says so and opens the token field.
    page.fill("#question", "What's the temperature in the warehouse?")
    page.click("#ask")
    alert = page.locator("[role=alert]").first
    expect(alert).to_contain_text("needs an API token")
    expect(page.locator("#token-box")).to_have_attribute("open", "")
    login(page, agent.token)
    alert.locator("button").click()  # retry
    turn = page.locator("section.turn").first
    expect(turn).to_have_attribute("data-done", "true")
    answer = turn.locator(".answer")
    expect(answer).to_contain_text("warehouse")
    expect(answer).to_contain_text("°C")
    # The answer was put together from its token events as they came, before the final one.
    assert int(answer.get_attribute("data-tokens") or 0) >= 3
    expect(turn.locator(".steps li.call", has_text="→ metric_summary")).to_have_count(1)
    expect(turn.locator(".steps li.result", has_text="← metric_summary: ok")).to_have_count(1)
    expect(page.locator("#mode")).to_have_text("mode: built-in")
    expect(page.locator("#freshness")).to_contain_text("ago")

    follow = ask(page, "and in the office?")
    expect(follow.locator(".answer")).to_contain_text("office")
    expect(follow.locator(".answer")).to_contain_text("°C")  # the metric came from the thread
    # The follow-up went in the thread the first answer opened.
    first_thread = threads[-2]
    assert first_thread, threads
    assert asked[-1].get("thread_id") == first_thread, (threads, asked)


def test_a_series_gets_a_chart_and_a_list_a_table(page: Page, agent: LiveAgent):
    login(page, agent.token)
    turn = ask(page, "Show the temperature trend in the warehouse over the last 6 hours")
    chart = turn.locator("svg.chart")
    expect(chart).to_be_visible()
    line = chart.locator("polyline").first
    drawn = (line.get_attribute("points") or "").split()
    assert len(drawn) == int(line.get_attribute("data-points") or 0) >= 20  # 6 h in buckets
    nodes = ask(page, "List all Pi nodes")
    table = nodes.locator("table[data-list=nodes]")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("pi-node-2")


def test_a_lost_connection_is_said_and_can_be_retried(page: Page, agent: LiveAgent):
    login(page, agent.token)
    page.route("**/chat", lambda route: route.abort("connectionreset"))
    page.fill("#question", "humidity in the office?")
    page.click("#ask")
    alert = page.locator("[role=alert]").first
    expect(alert).to_contain_text("Cannot reach the agent")
    expect(page.locator("#connection")).to_have_text("disconnected")
    page.unroute("**/chat")
    alert.locator("button").click()
    turn = page.locator("section.turn").first
    expect(turn).to_have_attribute("data-done", "true")
    expect(turn.locator(".answer")).to_contain_text("%")
    expect(page.locator("#connection")).to_have_text("ready")


def test_a_stream_cut_short_is_said(page: Page, agent: LiveAgent, tmp_path: Path):
    login(page, agent.token)
    cut = (
        'event: status\ndata: {"stage":"start","mode":"builtin"}\n\n'
        'event: token\ndata: {"text":"war'
    )
    page.route(
        "**/chat",
        lambda route: route.fulfill(status=200, body=cut, content_type="text/event-stream"),
    )
    page.fill("#question", "temperature in the warehouse?")
    page.click("#ask")
    expect(page.locator("[role=alert]").first).to_contain_text("closed before the answer")
    expect(page.locator("#connection")).to_have_text("disconnected")


def test_names_and_notes_from_the_data_are_shown_as_text_never_run(page: Page, agent: LiveAgent):
    login(page, agent.token)
    evil = '<img src=x onerror="window.pwned=1">'
    rows = [{"name": evil, "note": "<script>window.pwned=2</script>", "cpu": 0.5}]
    series = [
        {"location": evil, "metric": "temperature", "unit": "<b>C</b>",
         "points": [{"ts": 1.0e9, "mean": 20.0}, {"ts": 1.0e9 + 60, "mean": 21.0}]}
    ]  # fmt: skip
    events = [
        ("status", {"stage": "start", "mode": "builtin"}),
        ("tool_call", {"id": "1", "name": evil, "args": {"location": evil}}),
        ("tool_result", {"name": evil, "status": "ok", "data": {"data": {"nodes": rows}}}),
        ("tool_result", {"name": "series", "status": "ok", "data": {"data": {"series": series}}}),
        ("token", {"text": evil}),
        ("answer", {"answer": f"{evil} is fine", "mode": evil, "fallback": None}),
        ("done", {}),
    ]
    body = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
    page.route(
        "**/chat",
        lambda route: route.fulfill(status=200, body=body, content_type="text/event-stream"),
    )
    turn = ask(page, "list the nodes")
    expect(turn.locator(".answer")).to_have_text(f"{evil} is fine")
    expect(turn.locator("table")).to_contain_text(evil)
    expect(turn.locator("table")).to_contain_text("<script>")
    expect(turn.locator(".legend").first).to_contain_text(evil)
    expect(turn.locator(".steps li.call")).to_contain_text(evil)
    assert page.locator("#thread img, #thread script, #thread b").count() == 0
    assert page.evaluate("window.pwned") is None
