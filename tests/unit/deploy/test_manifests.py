"""The rendered manifests configure the real programs and follow the cluster's rules.

Each overlay's environment is parsed by the reporter's and the agent's own configuration code,
with Secret and ConfigMap files materialised from the rendered objects as a kubelet would.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from agent_bruno.settings import Settings
from edge_reporter.config import ReporterConfig
from tests.unit.deploy.conftest import MANIFESTS, OVERLAYS, REPO
from tests.unit.deploy.kustomize import pod_spec

Obj = dict[str, Any]
NODE = "pi-node-1"
_REF = re.compile(r"\$\(([A-Z_][A-Z0-9_]*)\)")
OWN_IMAGES = ("ghcr.io/agent-bruno/agent-bruno", "ghcr.io/agent-bruno/edge-reporter")


def _one(objects: list[Obj], kind: str, name: str) -> Obj:
    (obj,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return obj


def _data(obj: Obj) -> dict[str, str]:
    """A Secret's or ConfigMap's data as text."""
    if obj["kind"] == "Secret":
        return {k: base64.b64decode(v).decode() for k, v in obj.get("data", {}).items()}
    return dict(obj.get("data", {}))


def _container(workload: Obj) -> Obj:
    spec = pod_spec(workload)
    assert spec is not None
    container: Obj = spec["containers"][0]
    return container


def _mount_files(objects: list[Obj], workload: Obj, root: Path) -> dict[str, Path]:
    """Materialise Secret and ConfigMap volumes as a kubelet would, under `root`."""
    spec = pod_spec(workload)
    assert spec is not None
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts: dict[str, Path] = {}
    for mount in _container(workload)["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            source, items = _one(objects, "ConfigMap", volume["configMap"]["name"]), None
            items = volume["configMap"].get("items")
        elif "secret" in volume:
            source = _one(objects, "Secret", volume["secret"]["secretName"])
            items = volume["secret"].get("items")
        else:
            continue
        data = _data(source)
        files = {i["path"]: data[i["key"]] for i in items} if items else data
        target = root / mount["name"]
        target.mkdir(parents=True)
        for name, text in files.items():
            (target / name).write_text(text)
        mounts[mount["mountPath"]] = target
    return mounts


def _env(
    objects: list[Obj], workload: Obj, mounts: dict[str, Path], node: str = NODE
) -> dict[str, str]:
    """The container's environment: envFrom, downward API, Secret refs and $(VAR) expanded."""
    env: dict[str, str] = {}
    for source in _container(workload).get("envFrom", []):
        kind, ref = (
            ("ConfigMap", source["configMapRef"])
            if "configMapRef" in source
            else ("Secret", source["secretRef"])
        )
        found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == ref["name"]]
        assert found or ref.get("optional"), f"envFrom {kind} {ref['name']!r} is not rendered"
        env.update(_data(found[0]) if found else {})
    fields = {"spec.nodeName": node, "status.podIP": "10.42.0.11"}
    for item in _container(workload)["env"]:
        if "value" in item:
            value = _REF.sub(lambda m: env[m.group(1)], str(item["value"]))
        elif "fieldRef" in item["valueFrom"]:
            value = fields[item["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            data = _data(_one(objects, "Secret", ref["name"]))
            if ref.get("optional") and ref["key"] not in data:
                continue  # Kubernetes leaves the variable unset
            value = data[ref["key"]]
        for mount_path, local in mounts.items():
            if value.startswith(mount_path + "/"):
                value = str(local / value.removeprefix(mount_path + "/"))
        env[item["name"]] = value
    return env


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_reporter_env_is_a_valid_configuration(
    rendered: dict[str, list[Obj]], overlay: str, tmp_path: Path
) -> None:
    objects = rendered[overlay]
    daemonset = _one(objects, "DaemonSet", "edge-reporter")
    config = ReporterConfig.from_env(
        _env(objects, daemonset, _mount_files(objects, daemonset, tmp_path))
    )
    assert config.node == NODE
    tokens = _data(_one(objects, "Secret", "edge-reporter-tokens"))
    assert config.agent_token == tokens[NODE]
    assert config.location == _data(_one(objects, "ConfigMap", "edge-reporter-locations"))[NODE]
    assert (
        config.read_api_token == _data(_one(objects, "Secret", "edge-reporter-read-token"))["token"]
    )
    kinds = {s.kind for s in config.sensors}
    simulated = {"sim-dht22", "sim-pressure", "sim-motion", "sim-co2", "node"}
    assert kinds == ({"dht22", "node"} if overlay == "pi" else simulated)


def test_every_pi_has_a_location_and_sensors(rendered: dict[str, list[Obj]]) -> None:
    objects = rendered["pi"]
    located = set(_data(_one(objects, "ConfigMap", "edge-reporter-locations")))
    assert set(_data(_one(objects, "ConfigMap", "edge-reporter-sensors"))) == located


def test_the_pi_that_lists_mqtt_subscribes_and_the_others_do_not(
    rendered: dict[str, list[Obj]], tmp_path: Path
) -> None:
    objects = rendered["pi"]
    daemonset = _one(objects, "DaemonSet", "edge-reporter")
    mounts = _mount_files(objects, daemonset, tmp_path)
    sensors = _data(_one(objects, "ConfigMap", "edge-reporter-sensors"))
    (subscriber,) = [n for n, line in sensors.items() if "mqtt" in line.split(",")]
    for node in sensors:
        config = ReporterConfig.from_env(_env(objects, daemonset, mounts, node))
        if node == subscriber:
            assert config.mqtt is not None
            assert config.mqtt.url == "mqtt://mosquitto.home.svc.cluster.local:1883"
            assert config.mqtt.client_id == f"edge-reporter-{node}"
        else:
            assert config.mqtt is None
    (policy,) = [
        o
        for o in objects
        if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "edge-reporter"
    ]
    ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", [])}
    assert {1883, 8883} <= ports  # the broker, plain and TLS


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_agent_env_is_valid_settings_with_every_reporter_token(
    rendered: dict[str, list[Obj]], overlay: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = rendered[overlay]
    deployment = _one(objects, "Deployment", "agent-bruno")
    for name, value in _env(
        objects, deployment, _mount_files(objects, deployment, tmp_path)
    ).items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.port == 30120
    assert not settings.reads_open  # listens beyond loopback, so reads need the API token
    push = _data(_one(objects, "Secret", "edge-reporter-tokens"))
    nodes = set(_data(_one(objects, "ConfigMap", "edge-reporter-locations")))
    assert set(push) == nodes
    assert settings.token_to_node() == {token: node for node, token in push.items()}
    read = _data(_one(objects, "Secret", "edge-reporter-read-token"))["token"]
    assert settings.read_tokens() == dict.fromkeys(nodes, read)  # raw drill-down works
    assert settings.ollama_url == "http://ollama-edge:11434"
    assert settings.neo4j_uri == "bolt://neo4j:7687"
    assert settings.neo4j_password is not None
    neo4j = _data(_one(objects, "Secret", "neo4j-auth"))
    assert settings.neo4j_password.get_secret_value() == neo4j["password"]
    assert neo4j["NEO4J_AUTH"] == f"{settings.neo4j_username}/{neo4j['password']}"


def test_reporter_placement_resources_and_probes(rendered: dict[str, list[Obj]]) -> None:
    pi = _one(rendered["pi"], "DaemonSet", "edge-reporter")
    spec = pod_spec(pi)
    assert spec is not None
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    expressions = terms["nodeSelectorTerms"][0]["matchExpressions"]
    assert {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]} in expressions
    assert "affinity" not in (pod_spec(_one(rendered["demo"], "DaemonSet", "edge-reporter")) or {})
    container = _container(pi)
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    env = {e["name"]: e for e in container["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    data = next(v for v in spec["volumes"] if v["name"] == "data")
    assert data["hostPath"]["path"] == "/var/lib/edge-reporter"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_are_locked_down_and_meshed(rendered: dict[str, list[Obj]], overlay: str) -> None:
    for obj in rendered[overlay]:
        spec = pod_spec(obj)
        if spec is None:
            continue
        where = f"{overlay}: {obj['kind']}/{obj['metadata']['name']}"
        assert obj["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"] == "enabled"
        # Only the reporter talks to the Kubernetes API (its node's pods, read-only).
        reporter = obj["metadata"]["name"] == "edge-reporter"
        assert spec["automountServiceAccountToken"] is reporter, where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            if str(container["image"]).startswith(OWN_IMAGES):
                assert context["readOnlyRootFilesystem"] is True, where
            assert "memory" in container["resources"]["limits"], where
    namespace = _one(rendered[overlay], "Namespace", "agent-bruno")
    assert namespace["metadata"]["annotations"]["linkerd.io/inject"] == "enabled"


def test_the_reporter_may_only_list_pods_and_their_metrics(
    rendered: dict[str, list[Obj]],
) -> None:
    objects = rendered["pi"]
    spec = pod_spec(_one(objects, "DaemonSet", "edge-reporter"))
    assert spec is not None
    assert spec["serviceAccountName"] == "edge-reporter"
    assert (
        _one(objects, "ServiceAccount", "edge-reporter")["metadata"]["namespace"] == "agent-bruno"
    )
    role = _one(objects, "ClusterRole", "edge-reporter-workloads")
    assert [(r["apiGroups"], r["resources"], r["verbs"]) for r in role["rules"]] == [
        ([""], ["pods"], ["list"]),
        (["metrics.k8s.io"], ["pods"], ["list"]),
    ]
    binding = _one(objects, "ClusterRoleBinding", "edge-reporter-workloads")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "edge-reporter", "namespace": "agent-bruno"}
    ]


def test_agent_service_is_nodeport_30120(rendered: dict[str, list[Obj]]) -> None:
    (port,) = _one(rendered["pi"], "Service", "agent-bruno")["spec"]["ports"]
    assert (port["port"], port["nodePort"]) == (30120, 30120)


def test_image_tags_are_the_package_version(rendered: dict[str, list[Obj]]) -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    for overlay, objects in rendered.items():
        images = {
            str(c["image"])
            for o in objects
            if (spec := pod_spec(o)) is not None
            for c in spec["containers"]
        }
        own = {i for i in images if i.startswith(OWN_IMAGES)}
        assert own == {f"{name}:{version}" for name in OWN_IMAGES}, overlay


@pytest.mark.e2e  # starts git
def test_no_secret_is_committed() -> None:
    """Secrets come from the generators and make_secrets.py; none sits in the repository."""
    git = shutil.which("git")
    assert git is not None
    tracked = subprocess.run(  # noqa: S603 - the system's git
        [git, "ls-files", "manifests"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [p for p in tracked if "/secrets/" in p]
    for path in tracked:
        if path.endswith((".yaml", ".yml")):
            assert "kind: Secret" not in (REPO / path).read_text(), path
    ignored = subprocess.run(  # noqa: S603
        [
            git,
            "check-ignore",
            "-q",
            str(MANIFESTS / "overlays" / "pi" / "secrets" / "api-token"),
        ],
        cwd=REPO,
        check=False,
    )
    assert ignored.returncode == 0, "overlay secrets/ must be git-ignored"


def test_make_secrets_keeps_tokens_and_adds_new_nodes(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_secrets", MANIFESTS / "make_secrets.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "locations.env").write_text("pi-a=lab\n")
    module.make_secrets(tmp_path)
    first = (tmp_path / "secrets" / "reporter-tokens.env").read_text()
    assert (tmp_path / "secrets" / "api-token").stat().st_mode & 0o077 == 0
    (tmp_path / "locations.env").write_text("pi-a=lab\npi-b=attic\n")
    written = module.make_secrets(tmp_path)
    again = (tmp_path / "secrets" / "reporter-tokens.env").read_text()
    assert again.startswith(first)
    assert "pi-b=" in again
    assert "api-token" not in written
    (tmp_path / "locations.env").write_text("PI A=lab\n")
    with pytest.raises(SystemExit, match="not `<node name>=<location>`"):
        module.make_secrets(tmp_path)
