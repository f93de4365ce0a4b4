"""The Grafana dashboard and the alert rules query what the programs really export.

Both expositions come from the real code (a reporter runtime that took readings; an agent app
that ingested a batch). Every PromQL expression parses (promql-parser) and every metric it
selects is in one of them; promtool checks and unit-tests the rules.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from agent_bruno.app import create_app
from edge_reporter.config import ReporterConfig
from edge_reporter.main import build as build_reporter
from tests.promtool import check_rules, promtool
from tests.unit.agent.helpers import (
    API_TOKEN,
    NODE1_TOKEN,
    aggregate,
    auth,
    envelope,
    episode,
    heartbeat,
    make_settings,
    reading,
)
from tests.unit.deploy.conftest import MANIFESTS

DASHBOARD = MANIFESTS / "base" / "dashboards" / "edge-overview.json"
SYNTHETIC = frozenset({"up"})  # made by Prometheus for every target
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


def _names(exposition: str) -> set[str]:
    names: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        names.add(family.name)
        names.update(family.name + s for s in SUFFIXES.get(family.type, ()))
        names.update(s.name for s in family.samples)
    return names


@pytest.fixture(scope="module")
def reporter_exposition(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("reporter")
    config = ReporterConfig.from_env(
        {
            "STUDIO_AGENT_URL": "http://agent:30120",
            "AGENT_TOKEN": "k3Yq9-tW7xZ2pL0vR5mN",
            "NODE_NAME": "pi-1",
            "LOCATION": "lab",
            "DATA_DIR": str(data),
            "SENSORS": "sim-dht22:dht22-1,node",
            "READ_API_PORT": "0",
        }
    )
    down = httpx.MockTransport(lambda request: httpx.Response(503))
    rt = build_reporter(config, now=time.time(), transport=down)
    try:
        for i in range(3):
            rt.engine.sample(time.time() + i)
        rt.engine.flush_due(time.time() + 600)
        yield rt.metrics.render().decode()
    finally:
        rt.outbox.close()
        rt.store.close()


async def _scrape_agent(data: Path) -> str:
    app = create_app(make_settings(data))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
            events = [aggregate(1), reading(2), heartbeat(3), episode(4)]
            await client.post("/v1/events", json=envelope(events), headers=auth(NODE1_TOKEN))
            await client.post(
                "/query", content="temperature in the warehouse?", headers=auth(API_TOKEN)
            )
            r = await client.get("/metrics", headers=auth(API_TOKEN))
            assert r.status_code == 200
            return r.text


@pytest.fixture(scope="module")
def agent_exposition(tmp_path_factory: pytest.TempPathFactory) -> str:
    return asyncio.run(_scrape_agent(tmp_path_factory.mktemp("agent")))


@pytest.fixture(scope="module")
def exported(reporter_exposition: str, agent_exposition: str) -> set[str]:
    return _names(reporter_exposition) | _names(agent_exposition) | SYNTHETIC


def _selected(expr: str) -> set[str]:
    """Metric names an expression selects (Grafana's variables filled with plausible values)."""
    text = expr.replace("$__rate_interval", "5m").replace("$location", ".*")
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.add(node.name)
            return
        for attr in ("lhs", "rhs", "expr", "param", "vector_selector"):
            child = getattr(node, attr, None)
            if child is not None and type(child).__module__.startswith("promql_parser"):
                walk(child)
        for arg in getattr(node, "args", None) or []:
            walk(arg)

    walk(promql_parser.parse(text))
    return found


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def _rules() -> list[dict[str, Any]]:
    docs = yaml.safe_load_all((MANIFESTS / "base" / "monitoring.yaml").read_text())
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


def test_dashboard_structure() -> None:
    dash = _dashboard()
    assert dash["uid"]
    assert dash["title"]
    assert dash["schemaVersion"] >= 36
    panels = dash["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dash["templating"]["list"]}
    assert variables == {"datasource", "location"}
    for panel in panels:
        grid = panel["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"}, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
    titles = " | ".join(p["title"].lower() for p in panels)
    for needed in (
        "nodes",
        "cpu",
        "by location",
        "anomaly episodes",
        "outbox",
        "ingest rate",
        "ingest latency",
    ):
        assert needed in titles, needed


def test_every_dashboard_query_selects_exported_metrics(exported: set[str]) -> None:
    dash = _dashboard()
    queries = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    queries += [
        v["definition"].removeprefix("label_values(").split(",")[0]
        for v in dash["templating"]["list"]
        if "definition" in v
    ]
    assert len(queries) > 20
    for expr in queries:
        missing = _selected(expr) - exported
        assert not missing, f"{expr!r} selects {sorted(missing)}, which nothing exports"


def test_every_rule_selects_exported_metrics(exported: set[str]) -> None:
    for group in _rules():
        for rule in group["rules"]:
            missing = _selected(rule["expr"]) - exported
            assert not missing, f"{rule['alert']}: {sorted(missing)} not exported"


@pytest.mark.e2e  # starts promtool
def test_promtool_checks_the_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": _rules()}))
    report = check_rules(path)
    assert "SUCCESS" in report


@pytest.mark.e2e  # starts promtool
def test_promtool_unit_tests_the_alerts(tmp_path: Path) -> None:
    """The page-worthy alerts fire when they should and not before."""
    import subprocess

    groups = _rules()
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    text = {r["alert"]: r["annotations"] for g in groups for r in g["rules"]}
    where = {"cluster": "homelab", "node": "pi-1", "location": "lab"}
    labels = ",".join(f'{k}="{v}"' for k, v in where.items())
    tests = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": "agent_bruno_open_episodes"
                        '{kind="sensor_fault",severity="critical"}',
                        "values": "0 0 1x10",
                    },
                    {
                        "series": f"agent_bruno_node_last_seen_timestamp_seconds{{{labels}}}",
                        "values": "0x30",
                    },
                    {
                        "series": f"agent_bruno_node_heartbeat_interval_seconds{{{labels}}}",
                        "values": "300x30",
                    },
                ],
                "alert_rule_test": [
                    {"eval_time": "2m", "alertname": "AnomalyEpisodeCritical", "exp_alerts": []},
                    {
                        "eval_time": "4m",
                        "alertname": "AnomalyEpisodeCritical",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "critical", "kind": "sensor_fault"},
                                "exp_annotations": {
                                    "summary": "1 critical sensor_fault episode(s) open",
                                    "description": text["AnomalyEpisodeCritical"]["description"],
                                },
                            }
                        ],
                    },
                    {"eval_time": "10m", "alertname": "EdgeNodeSilent", "exp_alerts": []},
                    {
                        "eval_time": "21m",
                        "alertname": "EdgeNodeSilent",
                        "exp_alerts": [
                            {
                                "exp_labels": {"severity": "critical", **where},
                                "exp_annotations": {
                                    "summary": "pi-1 (lab) has sent no heartbeat",
                                    "description": text["EdgeNodeSilent"]["description"].replace(
                                        "{{ $labels.node }}", "pi-1"
                                    ),
                                },
                            }
                        ],
                    },
                ],
            }
        ],
    }
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests))
    proc = subprocess.run(  # noqa: S603 - the system's promtool
        [promtool(), "test", "rules", "tests.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_rule_objects_alert_with_a_severity() -> None:
    for group in _rules():
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
