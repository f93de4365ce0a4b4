"""The demo's taught-then-recalled part: a root cause recorded in chat is offered when a similar
episode recurs.

pi-node-2 (warehouse-b) is given a temperature jump twice (`RECURRING_FAULT`). When the
first episode reaches the graph, the demo records its cause in words through `POST /query`;
when the second one does, it asks why warehouse-b warmed, and the answer offers the recorded
cause as a likely explanation, with how similar the episodes are.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import httpx

NODE, LOCATION, SENSOR, METRIC = "pi-node-2", "warehouse-b", "dht22-1", "temperature"
# A one-reading spike after the reporter's triage warm-up (50 readings), then the temperature
# jumps again and stays up for 45 s (a second spike alike would not stand out: the first one
# widened what the detector expects of this series).
FIRST_S, SECOND_S = 70, 200
RECURRING_FAULT = (
    f"{SENSOR}/{METRIC}:spike@{FIRST_S}:+9,{SENSOR}/{METRIC}:step@{SECOND_S}:+9:for45s"
)
CAUSE = "loading-dock heater left on next to the sensor"
QUESTION = f"why did the temperature in {LOCATION} jump?"
WAIT_S = 480.0


def _episodes(client: httpx.Client, url: str, since: float) -> list[dict[str, Any]]:
    """pi-node-2's temperature rises that started after `since`, oldest first."""
    r = client.get(f"{url}/v1/graph/context", params={"location": LOCATION})
    if r.status_code != 200:
        return []
    found = [
        e
        for e in r.json()["context"]["episodes"]
        if e["node"] == NODE
        and e["metric"] == METRIC
        and e["started"] >= since
        and (e.get("peak_sigma") or 0) > 0
    ]
    return sorted(found, key=lambda e: float(e["started"]))


def _wait_for(
    client: httpx.Client, url: str, since: float, count: int, deadline: float
) -> list[dict[str, Any]]:
    while time.monotonic() < deadline:
        found = _episodes(client, url, since)
        if len(found) >= count and (count == 1 or found[-1]["started"] > found[0]["last"]):
            return found
        time.sleep(2.0)
    return []


def recording_sentence(started: float) -> str:
    """What a person says about the first episode, at its local clock time."""
    clock = datetime.fromtimestamp(started).astimezone().strftime("%H:%M")
    return f"the {clock} temperature jump in {LOCATION} was the {CAUSE}, resolved"


def _ask(client: httpx.Client, url: str, text: str) -> str:
    try:
        r = client.post(f"{url}/query", content=text)
    except httpx.HTTPError as exc:
        return f"(no answer: {type(exc).__name__}: {exc})"
    return r.text.rstrip() if r.status_code == 200 else f"(HTTP {r.status_code}: {r.text[:200]})"


def _show(url: str, text: str, answer: str) -> None:
    print(f"$ curl {url}/query -d {json.dumps(text)}", flush=True)
    print("  " + answer.replace("\n", "\n  ") + "\n", flush=True)


def _record_by_api(client: httpx.Client, url: str, started: float) -> str:
    """The same incident through /v1/incidents, when the chat did not record it."""
    body = {
        "location": LOCATION,
        "started": started,
        "status": "resolved",
        "root_cause": {"description": CAUSE},
        "metric": METRIC,
        "by": "demo",
    }
    r = client.post(f"{url}/v1/incidents", json=body)
    return "recorded" if r.status_code in (200, 201) else f"HTTP {r.status_code}: {r.text[:200]}"


def show_recurrence(url: str, started_at: float) -> None:
    """Record the first fault's cause in chat, then ask about its recurrence."""
    print(
        f"Teaching the graph: {NODE} ({LOCATION}) gets a +9 °C temperature spike at ~{FIRST_S} s "
        f"and a +9 °C jump again at ~{SECOND_S} s.\n",
        flush=True,
    )
    deadline = time.monotonic() + WAIT_S
    with httpx.Client(timeout=60.0) as client:
        first = _wait_for(client, url, started_at, 1, deadline)
        if not first:
            print("(the first temperature episode in warehouse-b did not reach the graph)\n")
            return
        sentence = recording_sentence(float(first[0]["started"]))
        answer = _ask(client, url, sentence)
        _show(url, sentence, answer)
        if not answer.startswith("Recorded incident"):
            outcome = _record_by_api(client, url, float(first[0]["started"]))
            print(
                f"(the chat did not record it, so the demo recorded the same through "
                f"POST /v1/incidents: {outcome})\n",
                flush=True,
            )
        again = _wait_for(client, url, started_at, 2, deadline)
        if not again:
            print("(the recurring temperature episode did not reach the graph in time)\n")
            return
        _show(url, QUESTION, _ask(client, url, QUESTION))
