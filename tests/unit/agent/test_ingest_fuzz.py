"""Mutated and corrupted ingest bodies never get a 5xx, and the store still answers reads.

Seeded mutations of the documented example payloads (docs/wire/examples): fields removed or
replaced by odd values, bytes inserted or deleted, gzip and truncation, wrong content types.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.unit.agent.helpers import API_TOKEN, NODE1_TOKEN, auth

EXAMPLES = Path(__file__).resolve().parents[3] / "docs/wire/examples"
ODD: list[Any] = [None, True, -1, 0, 1e308, 2**70, "", "x" * 300, [], {}, "NaN", "\u0000", "🔥"]


def _mutate(obj: Any, rng: random.Random) -> Any:
    if isinstance(obj, dict):
        out = dict(obj)
        if out and rng.random() < 0.5:
            key = rng.choice(list(out))
            roll = rng.random()
            if roll < 0.3:
                del out[key]
            elif roll < 0.7:
                out[key] = rng.choice(ODD)
            else:
                out[key] = _mutate(out[key], rng)
        return out
    if isinstance(obj, list):
        out_list = list(obj)
        if out_list and rng.random() < 0.7:
            i = rng.randrange(len(out_list))
            out_list[i] = _mutate(out_list[i], rng)
        if rng.random() < 0.2:
            out_list.append(rng.choice(ODD))
        return out_list
    return rng.choice(ODD) if rng.random() < 0.5 else obj


def _corrupt(text: str, rng: random.Random) -> bytes:
    data = bytearray(text.encode())
    for _ in range(rng.randint(1, 5)):
        i = rng.randrange(len(data) + 1)
        roll = rng.random()
        if roll < 0.4 and data:
            del data[min(i, len(data) - 1)]
        elif roll < 0.8:
            data.insert(i, rng.randrange(256))
        else:
            data[i:i] = rng.choice([b",", b"\n", b'"', b"{", b"]", b"\xff\xfe", b"nan"])
    return bytes(data)


def _request(rng: random.Random) -> tuple[str, bytes, dict[str, str]]:
    if rng.random() < 0.5:
        url, token, ctype = "/v1/events", NODE1_TOKEN, "application/json"
        example = json.loads((EXAMPLES / "events-batch.json").read_text())
        example["reporter"]["node"] = "pi-node-1"
        text = json.dumps(example)
        body = json.dumps(_mutate(example, rng)).encode() if rng.random() < 0.8 else b""
    else:
        url, token = "/v1/readings", API_TOKEN
        name, ctype = rng.choice(
            [
                ("readings.json", "application/json"),
                ("readings.csv", "text/csv"),
                ("readings.ndjson", "application/x-ndjson"),
            ]
        )
        text = (EXAMPLES / name).read_text()
        body = b""
    if not body:
        body = _corrupt(text, rng)
    headers = auth(token) | {"Content-Type": rng.choice([ctype] * 9 + ["text/plain"])}
    if rng.random() < 0.1:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    if rng.random() < 0.05:
        body = body[: rng.randrange(len(body) + 1)]
    return url, body, headers


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_no_input_gets_a_server_error(client, seed: int):
    rng = random.Random(seed)
    statuses: dict[int, int] = {}
    for _ in range(1000):
        url, body, headers = _request(rng)
        r = await client.post(url, content=body, headers=headers)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert r.status_code < 500, (url, r.status_code, r.text[:200], body[:200])
    assert statuses.get(200, 0) > 50  # the mutations leave plenty of valid data too
    for path in ("/v1/series?start=-30d", "/v1/anomalies?start=-30d", "/v1/nodes", "/v1/catalog"):
        assert (await client.get(path, headers=auth(API_TOKEN))).status_code == 200, path


async def test_event_type_that_is_not_a_string_is_rejected_not_500(client):
    """Regression (found by the fuzzer): `"type": {}` raised TypeError and answered 500."""
    body = {
        "schema_version": 1,
        "reporter": {"node": "pi-node-1", "location": "warehouse", "cluster": "homelab"},
        "events": [{"id": "e-1", "type": {}, "ts": 1.0}],
    }
    r = await client.post("/v1/events", json=body, headers=auth(NODE1_TOKEN))
    assert r.status_code == 200
    assert r.json()["accepted"] == 0
    assert r.json()["rejected"][0]["index"] == 0
