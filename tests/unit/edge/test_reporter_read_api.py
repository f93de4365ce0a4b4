"""Read API over loopback: auth, parameters, 400s, never crashing."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_reporter.model import Reading
from edge_reporter.read_api import ReadApi, parse_readings_query
from edge_reporter.store import LocalStore

T0 = 1_764_115_200.0
TOKEN = "read-Yq9tW7xZ2pL0vR5"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ReadApi]:
    store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8)
    store.append(
        [Reading(T0 + i * 60, "dht22-1", "temperature", "°C", 20.0 + i) for i in range(10)]
    )
    store.append([Reading(T0, "dht22-1", "humidity", "%", None)])
    server = ReadApi(
        tmp_path / "raw.db", node="pi-1", token=TOKEN, bind="127.0.0.1", port=0, poll_interval=0.002
    )
    server.start()
    yield server
    server.stop()
    store.close()


def get(
    api: ReadApi, path: str, token: str | None = TOKEN, method: str = "GET"
) -> tuple[int, dict[str, object]]:
    host, port = api.address
    conn = http.client.HTTPConnection(host, port, timeout=5)
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    body = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, body


def test_healthz_needs_no_token(api: ReadApi) -> None:
    assert get(api, "/healthz", token=None) == (
        200,
        {"status": "ok", "node": "pi-1", "problems": {}, "counters": {}},
    )


@pytest.mark.parametrize("token", [None, "wrong-token-0000000", ""])
def test_data_needs_the_token(api: ReadApi, token: str | None) -> None:
    status, body = get(api, "/v1/series", token=token)
    assert status == 401
    assert "READ_API_TOKEN" in str(body["error"])


def test_readings_by_series_and_range(api: ReadApi) -> None:
    status, body = get(
        api, f"/v1/readings?sensor=dht22-1&metric=temperature&start={T0 + 60}&end={T0 + 240}"
    )
    assert status == 200
    assert [r["value"] for r in body["readings"]] == [21.0, 22.0, 23.0]  # type: ignore[index]
    assert body["count"] == 3
    assert body["truncated"] is False


def test_dropouts_come_back_as_null(api: ReadApi) -> None:
    _, body = get(api, f"/v1/readings?metric=humidity&start={T0}&end={T0 + 1}")
    assert body["readings"] == [
        {"ts": T0, "sensor": "dht22-1", "metric": "humidity", "unit": "%", "value": None}
    ]


def test_limit_truncates(api: ReadApi) -> None:
    _, body = get(api, f"/v1/readings?start={T0}&end={T0 + 3600}&limit=2")
    assert body["count"] == 2
    assert body["truncated"] is True


def test_exactly_limit_rows_is_not_truncated(api: ReadApi) -> None:
    """Regression: `truncated` was true whenever the count equalled the limit."""
    query = f"sensor=dht22-1&metric=temperature&start={T0 + 60}&end={T0 + 240}"
    _, body = get(api, f"/v1/readings?{query}&limit=3")
    assert (body["count"], body["truncated"]) == (3, False)
    _, body = get(api, f"/v1/readings?{query}&limit=2")
    assert (body["count"], body["truncated"]) == (2, True)


def test_series(api: ReadApi) -> None:
    status, body = get(api, "/v1/series")
    assert status == 200
    assert body["series"] == [
        {
            "sensor": "dht22-1",
            "metric": "humidity",
            "unit": "%",
            "count": 1,
            "first_ts": T0,
            "last_ts": T0,
        },
        {
            "sensor": "dht22-1",
            "metric": "temperature",
            "unit": "°C",
            "count": 10,
            "first_ts": T0,
            "last_ts": T0 + 540,
        },
    ]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("start=yesterday", "start='yesterday'"),
        ("end=nan", "end='nan'"),
        ("start=inf", "start='inf'"),
        ("limit=0", "limit='0'"),
        ("limit=99999999", "limit='99999999'"),
        ("limit=-5", "limit='-5'"),
        ("sensor=a%20b", "sensor='a b'"),
        ("start=200&end=100", "start=200 is after end=100"),
        ("colour=red", "unknown parameter 'colour'"),
        ("metric=a&metric=b", "'metric' given 2 times"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(api: ReadApi, query: str, named: str) -> None:
    status, body = get(api, f"/v1/readings?{query}")
    assert status == 400
    assert named in str(body["error"])


@pytest.mark.parametrize("path", ["/", "/v1/readings/../../etc/passwd", "/v1/readingsx", "/%ff%fe"])
def test_unknown_paths_are_404(api: ReadApi, path: str) -> None:
    assert get(api, path)[0] == 404


def test_writes_are_refused(api: ReadApi) -> None:
    assert get(api, "/v1/readings", method="POST")[0] == 405
    assert get(api, "/v1/readings", method="DELETE")[0] == 405


def test_garbage_request_does_not_kill_the_server(api: ReadApi) -> None:
    import socket

    host, port = api.address
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(b"\x00\xff GARBAGE \r\n\r\n")
        sock.recv(1024)
    assert get(api, "/healthz")[0] == 200


def test_store_not_there_yet_is_503(tmp_path: Path) -> None:
    server = ReadApi(
        tmp_path / "missing.db",
        node="pi-1",
        token=None,
        bind="127.0.0.1",
        port=0,
        poll_interval=0.01,
    )
    server.start()
    try:
        assert get(server, "/v1/series", token=None)[0] == 503
    finally:
        server.stop()


def test_default_range_is_the_last_hour() -> None:
    args = parse_readings_query("", now=T0)
    assert (args["start"], args["end"], args["limit"]) == (T0 - 3600, T0, 1000)


def test_without_a_token_only_loopback(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"bind='10\.0\.0\.11' without a token"):
        ReadApi(tmp_path / "raw.db", node="pi-1", token=None, bind="10.0.0.11", port=0)
