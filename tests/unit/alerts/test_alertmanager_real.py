"""The real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) receives our alerts:
started on an ephemeral loopback port with a temp config and storage, read back through its
API v2, firing and then resolved. Skipped, visibly, where the binary is not installed; CI
installs it (.ci/run)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_bruno.localrun import free_port
from tests.unit.alerts.test_subscriptions_api import NOW, humidity, ingest

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
ABSENT = "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"
if BINARY is None and os.environ.get("CI") == "true":
    raise RuntimeError(f"{ABSENT}: .ci/run installs it, so CI must have it")
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(BINARY is None, reason=ABSENT)]
CONFIG = """
route:
  receiver: nowhere
  group_wait: 1s
  group_interval: 1s
receivers:
  - name: nowhere
"""


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    assert BINARY is not None
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG)
    port = free_port()
    log = (tmp_path / "alertmanager.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - the packaged binary, fixed arguments
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "alertmanager.log").read_text()[-2000:])
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


async def _alerts(url: str, sub_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as c:
        r = await c.get(f"{url}/api/v2/alerts", params={"filter": f'subscription="{sub_id}"'})
    r.raise_for_status()
    got: list[dict[str, Any]] = r.json()
    return got


async def _until(url: str, sub_id: str, want: str, wait_s: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        alerts = await _alerts(url, sub_id)
        states = {a["status"]["state"] for a in alerts}
        if want == "gone" and not alerts:
            return alerts
        if want in states:
            return alerts
        await asyncio.sleep(0.2)
    raise AssertionError(f"Alertmanager never showed {want!r}: {await _alerts(url, sub_id)}")


async def test_firing_then_resolved_in_alertmanager(
    alice: httpx.AsyncClient, alertmanager: str
) -> None:
    rule = {"kind": "threshold", "metric": "humidity", "op": "below", "value": 30, "unit": "%"}
    r = await alice.post(
        "/v1/subscriptions",
        json={"rule": rule, "name": "dry warehouse",
              "destination": {"kind": "alertmanager", "url": alertmanager}},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    sub_id = r.json()["subscription"]["id"]
    await ingest(alice, [humidity(1, 27, 29, NOW)])
    (alert,) = await _until(alertmanager, sub_id, "active")
    labels = alert["labels"]
    assert labels["alertname"] == "dry_warehouse"
    assert (labels["location"], labels["node"], labels["metric"]) == (
        "warehouse", "pi-node-1", "humidity",
    )  # fmt: skip
    assert labels["severity"] == "warning"
    assert labels["owner"] == "api:alice"
    assert "27%" in alert["annotations"]["description"]
    assert alert["generatorURL"].startswith("http://bruno.test:30120/v1/subscriptions/")
    await ingest(alice, [humidity(2, 33, 36, NOW + 300)])
    # Resolved: Alertmanager stops listing the alert once its endsAt has passed.
    await _until(alertmanager, sub_id, "gone")
