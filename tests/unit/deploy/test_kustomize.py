"""Every overlay renders, every object validates offline, every reference resolves.

Built objects are checked against the Kubernetes OpenAPI schemas of several releases
(kubernetes-validate, strict: unknown fields fail) and the prometheus-operator objects against
models generated from its CRD schemas (cloudcoil-models-prometheus-operator): a field the model
does not know is an error, as on a cluster with the CRD installed.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from tests.unit.deploy.conftest import OVERLAYS
from tests.unit.deploy.kustomize import KustomizeError, build, pod_spec

Obj = dict[str, Any]
K8S_VERSIONS = ("1.29.0", "1.32.0", "1.35.0")
CRD_KINDS = frozenset({"ServiceMonitor", "PrometheusRule"})


@pytest.fixture(scope="module", autouse=True)
def _schemas_parsed_once() -> Iterator[None]:
    """`kubernetes_validate.validate` reads and parses its schema files on every call, the
    release's definitions (megabytes of JSON) included: about 1 s of CPU over the objects
    validated here. Each file is parsed once; the validator only reads what it is given."""
    parse = kubernetes_validate.utils.schema_contents
    kubernetes_validate.utils.schema_contents = functools.cache(parse)
    yield
    kubernetes_validate.utils.schema_contents = parse


def _key(obj: Obj) -> tuple[str, str, str, str]:
    meta = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])


def test_each_overlay_renders_every_object_the_issue_lists(
    rendered: dict[str, list[Obj]],
) -> None:
    expected = {
        ("Namespace", "agent-bruno"),
        ("DaemonSet", "edge-reporter"),
        ("Service", "edge-reporter"),
        ("ConfigMap", "edge-reporter-locations"),
        ("ServiceAccount", "edge-reporter"),
        ("ClusterRole", "edge-reporter-workloads"),
        ("ClusterRoleBinding", "edge-reporter-workloads"),
        ("Deployment", "agent-bruno"),
        ("Service", "agent-bruno"),
        ("PersistentVolumeClaim", "agent-bruno-data"),
        ("Secret", "agent-bruno-tokens"),
        ("Secret", "edge-reporter-tokens"),
        ("Secret", "edge-reporter-read-token"),
        ("Secret", "neo4j-auth"),
        ("StatefulSet", "neo4j"),
        ("Service", "neo4j"),
        ("Deployment", "ollama-edge"),
        ("Service", "ollama-edge"),
        ("PersistentVolumeClaim", "ollama-models"),
        ("ServiceMonitor", "agent-bruno"),
        ("ServiceMonitor", "edge-reporter"),
        ("PrometheusRule", "agent-bruno"),
        ("ConfigMap", "agent-bruno-dashboard"),
        ("NetworkPolicy", "default-deny"),
        ("NetworkPolicy", "edge-reporter"),
        ("NetworkPolicy", "agent-bruno"),
        ("NetworkPolicy", "neo4j"),
        ("NetworkPolicy", "ollama-edge"),
    }
    for name, objects in rendered.items():
        found = {(o["kind"], o["metadata"]["name"]) for o in objects}
        per_node_sensors = (
            {("ConfigMap", "edge-reporter-sensors"), ("ConfigMap", "edge-reporter-mqtt")}
            if name == "pi"
            else set()
        )
        assert found == expected | per_node_sensors, name
        assert len({_key(o) for o in objects}) == len(objects), f"{name}: duplicate objects"
        assert all(
            o["metadata"].get("namespace") == "agent-bruno"
            for o in objects
            if o["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding")
        )


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_objects_pass_the_kubernetes_schemas(
    rendered: dict[str, list[Obj]], overlay: str, version: str
) -> None:
    for obj in rendered[overlay]:
        if obj["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay}: {obj['kind']}/{obj['metadata']['name']} ({version}): {exc}")


@functools.cache
def _prometheus_operator_v1() -> ModuleType:
    """The monitoring.coreos.com/v1 models alone. The package imports v1alpha1 beside them, which
    this suite does not use and which costs about 1 s of CPU to build; the models import only
    `cloudcoil` itself, not their package."""
    import cloudcoil.models

    name = "cloudcoil.models.prometheus_operator.v1"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(cloudcoil.models.__path__[0]) / "prometheus_operator" / "v1.py"
    spec = importlib.util.spec_from_file_location(f"{__name__}._prometheus_operator_v1", path)
    assert spec is not None, path
    assert spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the models' annotations through it
    spec.loader.exec_module(module)
    return module


def _unknown_fields(given: Any, kept: Any, path: str = "") -> list[str]:
    """Keys of `given` that the model dropped (it ignores what its schema does not define)."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            return [path or "/"]
        return [
            found
            for key, value in given.items()
            for found in (
                [f"{path}/{key}"]
                if key not in kept
                else _unknown_fields(value, kept[key], f"{path}/{key}")
            )
        ]
    if isinstance(given, list) and isinstance(kept, list):
        return [
            found
            for i, (a, b) in enumerate(zip(given, kept, strict=True))
            for found in _unknown_fields(a, b, f"{path}/{i}")
        ]
    return []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prometheus_operator_objects_pass_their_crd_schemas(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    v1 = _prometheus_operator_v1()
    models = {"ServiceMonitor": v1.ServiceMonitor, "PrometheusRule": v1.PrometheusRule}
    checked = 0
    for obj in rendered[overlay]:
        if obj["kind"] not in CRD_KINDS:
            continue
        assert obj["apiVersion"] == "monitoring.coreos.com/v1"
        model = models[obj["kind"]].model_validate(obj)
        kept = model.model_dump(by_alias=True, exclude_unset=True, mode="json")
        unknown = _unknown_fields(obj, kept)
        assert not unknown, f"{obj['kind']}/{obj['metadata']['name']}: unknown fields {unknown}"
        checked += 1
    assert checked == 3


def _refs(spec: Obj) -> list[tuple[str, str, str | None]]:
    """(kind, name, key) of every Secret, ConfigMap and PVC a pod spec uses."""
    out: list[tuple[str, str, str | None]] = []
    for container in [*spec.get("containers", []), *spec.get("initContainers", [])]:
        for env in container.get("env", []):
            source = env.get("valueFrom", {})
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                # An optional key may be absent (Kubernetes leaves the variable unset).
                key = None if ref.get("optional") else ref["key"]
                out.append(("Secret", ref["name"], key))
            if "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                out.append(("ConfigMap", ref["name"], ref["key"]))
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            items = volume["secret"].get("items") or [{"key": None}]
            out += [("Secret", volume["secret"]["secretName"], i["key"]) for i in items]
        if "configMap" in volume:
            items = volume["configMap"].get("items") or [{"key": None}]
            out += [("ConfigMap", volume["configMap"]["name"], i["key"]) for i in items]
        if "persistentVolumeClaim" in volume:
            out.append(
                ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"], None)
            )
    return out


def _selects(selector: Obj, labels: Obj) -> bool:
    wanted = selector.get("matchLabels", selector)
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_reference_resolves(rendered: dict[str, list[Obj]], overlay: str) -> None:
    objects = rendered[overlay]
    by_kind: dict[tuple[str, str], Obj] = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    pods = [(o, pod_spec(o)) for o in objects if pod_spec(o) is not None]
    for owner, spec in pods:
        assert spec is not None
        where = f"{overlay}: {owner['kind']}/{owner['metadata']['name']}"
        claims = {t["metadata"]["name"] for t in owner["spec"].get("volumeClaimTemplates", [])}
        for kind, name, key in _refs(spec):
            target = by_kind.get((kind, name))
            assert (
                target is not None
                or (kind, name) == ("PersistentVolumeClaim", "")
                or (name in claims)
            ), f"{where} uses {kind} {name!r}, which is not rendered"
            if key is not None and target is not None:
                assert key in target.get("data", {}), f"{where}: {kind} {name!r} has no key {key!r}"
        ports = {p["name"] for c in spec["containers"] for p in c.get("ports", []) if "name" in p}
        for container in spec["containers"]:
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                port = container.get(probe, {}).get("httpGet", {}).get("port")
                if isinstance(port, str):
                    assert port in ports, f"{where}: {probe} port {port!r}"
        selector = owner["spec"]["selector"]["matchLabels"]
        assert _selects(selector, owner["spec"]["template"]["metadata"]["labels"]), where
    pod_labels = [o["spec"]["template"]["metadata"]["labels"] for o, _ in pods]
    for obj in objects:
        where = f"{overlay}: {obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Service":
            matched = [
                (o, s)
                for o, s in pods
                if _selects(obj["spec"]["selector"], o["spec"]["template"]["metadata"]["labels"])
            ]
            assert matched, f"{where} selects no pod"
            names = {
                p["name"] for _, s in matched for c in s["containers"] for p in c.get("ports", [])
            }  # type: ignore[index]
            for port in obj["spec"]["ports"]:
                if isinstance(port.get("targetPort"), str):
                    assert port["targetPort"] in names, (
                        f"{where}: targetPort {port['targetPort']!r}"
                    )
        if obj["kind"] == "ServiceMonitor":
            services = [
                s
                for s in objects
                if s["kind"] == "Service"
                and _selects(obj["spec"]["selector"], s["metadata"]["labels"])
            ]
            assert services, f"{where} selects no Service"
            for endpoint in obj["spec"]["endpoints"]:
                assert endpoint["port"] in {p["name"] for s in services for p in s["spec"]["ports"]}
                secret = endpoint["bearerTokenSecret"]
                assert secret["key"] in by_kind[("Secret", secret["name"])]["data"], where
        if obj["kind"] == "NetworkPolicy":
            selector = obj["spec"]["podSelector"]
            assert not selector or any(_selects(selector, labels) for labels in pod_labels), where
            rules = [*obj["spec"].get("ingress", []), *obj["spec"].get("egress", [])]
            for peer in (p for r in rules for p in r.get("from", []) + r.get("to", [])):
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    assert any(_selects(peer["podSelector"], labels) for labels in pod_labels), (
                        f"{where}: peer {peer} selects no pod"
                    )


def _decoded(obj: Obj) -> Obj:
    """A Secret with its data decoded (kustomize wraps long base64 lines; the API ignores it)."""
    if obj["kind"] != "Secret":
        return obj
    data = {k: base64.b64decode(v) for k, v in obj.get("data", {}).items()}
    return {**obj, "data": data}


@pytest.mark.e2e  # starts kubectl
def test_renderer_agrees_with_kubectl_kustomize(
    manifests_copy: Path, rendered: dict[str, list[Obj]]
) -> None:
    """Where kubectl (with kustomize v5) is installed, it renders the same objects."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed: the renderer is not cross-checked here")
    version = subprocess.run(  # noqa: S603
        [kubectl, "version", "--client"], capture_output=True, text=True, check=False
    ).stdout
    if "Kustomize Version: v5" not in version:
        pytest.skip(f"kubectl's kustomize is not v5: {version.strip()!r}")
    for overlay in OVERLAYS:
        out = subprocess.run(  # noqa: S603
            [kubectl, "kustomize", str(manifests_copy / "overlays" / overlay)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        theirs = {_key(o): _decoded(o) for o in yaml.safe_load_all(out) if o}
        ours = {_key(o): _decoded(o) for o in rendered[overlay]}
        assert sorted(theirs) == sorted(ours), overlay
        for key, obj in ours.items():
            assert obj == theirs[key], f"{overlay}: {key} differs"


def test_renderer_refuses_what_it_does_not_support(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nreplicas: [{name: x, count: 2}]\n")
    with pytest.raises(KustomizeError, match="unsupported fields"):
        build(tmp_path)
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    with pytest.raises(KustomizeError, match="does not exist"):
        build(tmp_path)
