"""The k3s manifests configure the real programs: env that parses, resources as specified."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent_bruno.settings import Settings
from edge_reporter.config import ReporterConfig

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
NODE = "pi-node-1"
_REF = re.compile(r"\$\(([A-Z_][A-Z0-9_]*)\)")


def _docs() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted(MANIFESTS.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def _one(kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in _docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def _mount_files(workload: dict[str, Any], root: Path, tokens: dict[str, str]) -> dict[str, Path]:
    """Materialise Secret and ConfigMap volumes as a kubelet would, under `root`."""
    spec = workload["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts: dict[str, Path] = {}
    for mount in _container(workload)["volumeMounts"]:
        volume = volumes[mount["name"]]
        target = root / mount["name"]
        if "configMap" in volume:
            data = _one("ConfigMap", volume["configMap"]["name"])["data"]
        elif "secret" in volume:
            items = volume["secret"].get("items")
            keys = [i["path"] for i in items] if items else [NODE]
            data = {k: json.dumps(tokens) if k.endswith(".json") else tokens[NODE] for k in keys}
        else:
            continue
        target.mkdir(parents=True)
        for key, value in data.items():
            (target / key).write_text(value)
        mounts[mount["mountPath"]] = target
    return mounts


def _env(workload: dict[str, Any], mounts: dict[str, Path], token: str) -> dict[str, str]:
    """The container's environment with downward API, Secret refs and $(VAR) expanded."""
    env: dict[str, str] = {}
    fields = {"spec.nodeName": NODE, "status.podIP": "10.42.0.11"}
    for item in _container(workload)["env"]:
        if "value" in item:
            value = _REF.sub(lambda m: env[m.group(1)], str(item["value"]))
        elif "fieldRef" in item["valueFrom"]:
            value = fields[item["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            assert "secretKeyRef" in item["valueFrom"], item
            value = token
        for mount_path, local in mounts.items():
            if value.startswith(mount_path + "/"):
                value = str(local / value.removeprefix(mount_path + "/"))
        env[item["name"]] = value
    return env


def test_reporter_daemonset_env_is_a_valid_configuration(tmp_path: Path) -> None:
    daemonset = _one("DaemonSet", "edge-reporter")
    tokens = {NODE: secrets.token_urlsafe(24)}
    mounts = _mount_files(daemonset, tmp_path, tokens)
    config = ReporterConfig.from_env(_env(daemonset, mounts, secrets.token_urlsafe(24)))
    assert config.node == NODE
    assert config.agent_token == tokens[NODE]
    assert config.location == _one("ConfigMap", "edge-reporter-locations")["data"][NODE]
    assert config.read_api_token is not None


def test_reporter_daemonset_requests_what_the_brief_allows() -> None:
    resources = _container(_one("DaemonSet", "edge-reporter"))["resources"]
    assert resources["requests"] == {"cpu": "100m", "memory": "128Mi"}


def test_agent_deployment_env_is_valid_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = _one("Deployment", "agent-bruno")
    tokens = {NODE: secrets.token_urlsafe(24), "pi-node-2": secrets.token_urlsafe(24)}
    mounts = _mount_files(deployment, tmp_path, tokens)
    for name, value in _env(deployment, mounts, secrets.token_urlsafe(24)).items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.port == 30120
    assert settings.token_to_node()[tokens[NODE]] == NODE
    assert not settings.reads_open  # listens beyond loopback, so reads need the API token


def test_agent_service_is_nodeport_30120() -> None:
    (port,) = _one("Service", "agent-bruno")["spec"]["ports"]
    assert (port["port"], port["nodePort"]) == (30120, 30120)


def test_the_reporter_may_only_list_pods_and_their_metrics() -> None:
    daemonset = _one("DaemonSet", "edge-reporter")
    spec = daemonset["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == "edge-reporter"
    role = _one("ClusterRole", "edge-reporter-workloads")
    assert [(r["apiGroups"], r["resources"], r["verbs"]) for r in role["rules"]] == [
        ([""], ["pods"], ["list"]),
        (["metrics.k8s.io"], ["pods"], ["list"]),
    ]
    binding = _one("ClusterRoleBinding", "edge-reporter-workloads")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "edge-reporter", "namespace": "agent-bruno"}
    ]
