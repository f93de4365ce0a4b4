"""`EdgeDeploy`: the collector rendered from the base manifest, applied through the official
`kubernetes` client to a Kubernetes API server faked at the HTTP level (tests/fakes/kube.py)."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest

from homelab import BadRequest, DeployError, EdgeDeploy
from homelab.deploy import base_daemonset
from tests.fakes.kube import fake_kube
from tests.unit.interfaces.live import LiveAgent

ENV = {"SENSORS": "dht22:dht22-1@/sys/bus/iio/devices/iio:device0", "REPORT_INTERVAL": "30"}


def test_dry_run_returns_the_manifest_without_a_cluster():
    manifest = EdgeDeploy(cluster="pi", kubeconfig="/nonexistent").apply(
        name="sensor-collector", image="ghcr.io/me/collector:1.2", env=ENV, dry_run=True
    )
    assert manifest["kind"] == "DaemonSet"
    assert manifest["metadata"]["name"] == "sensor-collector"
    assert manifest["metadata"]["namespace"] == "agent-bruno"
    spec = manifest["spec"]
    assert spec["selector"]["matchLabels"] == {"app.kubernetes.io/name": "sensor-collector"}
    assert spec["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == "sensor-collector"
    pod = spec["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "ghcr.io/me/collector:1.2"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["SENSORS"] == ENV["SENSORS"]
    assert env["REPORT_INTERVAL"] == "30"
    assert env["CLUSTER"] == "homelab"  # the rest of the base stays
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert data["hostPath"]["path"] == "/var/lib/sensor-collector"  # its own outbox
    base = base_daemonset()["spec"]["template"]["spec"]
    assert pod["securityContext"] == base["securityContext"]
    assert container["resources"] == base["containers"][0]["resources"]
    kubernetes_validate.validate(manifest, "1.32.0", strict=True)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"name": "Sensor_Collector"}, "name 'Sensor_Collector'"),
        ({"image": "has space:1"}, "image"),
        ({"env": {"1BAD": "x"}}, "env name '1BAD'"),
        ({"env": {"N": 3}}, "values are strings"),
    ],
)
def test_bad_arguments_are_named(kwargs, needle):
    args = {"name": "collector", "image": "ghcr.io/me/c:1", **kwargs}
    with pytest.raises(BadRequest, match=needle):
        EdgeDeploy().apply(**args, dry_run=True)


def test_apply_creates_then_updates_through_server_side_apply(tmp_path: Path):
    with fake_kube() as kube:
        config = tmp_path / "kubeconfig"
        config.write_text(kube.kubeconfig("pi"))
        deploy = EdgeDeploy(cluster="pi", kubeconfig=str(config))
        first = deploy.apply(name="sensor-collector", image="ghcr.io/me/c:1", env=ENV)
        second = deploy.apply(name="sensor-collector", image="ghcr.io/me/c:2", env=ENV)
    assert first["metadata"]["generation"] == 1
    assert second["metadata"]["generation"] == 2
    assert second["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/me/c:2"
    request = kube.requests[-1]
    assert request.method == "PATCH"
    assert request.path == "/apis/apps/v1/namespaces/agent-bruno/daemonsets/sensor-collector"
    assert request.content_type == "application/apply-patch+yaml"
    assert request.query["fieldManager"] == ["homelab-sdk"]
    assert request.query["force"] == ["true"]
    stored = kube.objects[("agent-bruno", "sensor-collector")]
    assert stored["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/me/c:2"


def test_refusals_and_missing_contexts_are_deploy_errors(tmp_path: Path):
    with fake_kube() as kube:
        config = tmp_path / "kubeconfig"
        config.write_text(kube.kubeconfig("pi"))
        kube.refuse = (403, "Forbidden")
        with pytest.raises(DeployError, match=r"refused 'collector' \(403 Forbidden\)"):
            EdgeDeploy(cluster="pi", kubeconfig=str(config)).apply(name="collector", image="i:1")
        with pytest.raises(DeployError, match="no kubeconfig context 'lab'"):
            EdgeDeploy(cluster="lab", kubeconfig=str(config)).apply(name="collector", image="i:1")
        wrong = tmp_path / "wrong"
        wrong.write_text(kube.kubeconfig("pi").replace(kube.token, "stolen"))
        kube.refuse = None
        with pytest.raises(DeployError, match="401"):
            EdgeDeploy(cluster="pi", kubeconfig=str(wrong)).apply(name="collector", image="i:1")
    assert not kube.objects


def test_query_agent_asks_the_clusters_agent(agent: LiveAgent):
    answer = EdgeDeploy(agent=agent.url, token=agent.token).query_agent("humidity in the office?")
    assert "office" in answer.text
    assert "%" in answer.text
