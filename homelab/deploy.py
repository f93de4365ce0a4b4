"""`EdgeDeploy`: a sensor-collector DaemonSet from the project's own base manifest, applied
through the official `kubernetes` client (server-side apply) on the kubeconfig context named
after the cluster.

The manifest is `manifests/base/edge-reporter.yaml` as shipped with the SDK: the collector gets
the reporter's security context, probes, resources and volumes; `apply` changes its name (and
labels, selector and the node's data directory, so two collectors never share an outbox), its
image and its environment.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

import yaml

from homelab.assets import asset
from homelab.core import DEFAULT_NAMESPACE, Answer
from homelab.data import EdgeData
from homelab.errors import BadRequest, DeployError

BASE = ("manifests", "base", "edge-reporter.yaml")
FIELD_MANAGER = "homelab-sdk"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAGE = re.compile(r"^[^\s]+$")


def base_daemonset() -> dict[str, Any]:
    """The DaemonSet of the shipped base manifest."""
    text = asset(*BASE).read_text(encoding="utf-8")
    for doc in yaml.safe_load_all(text):
        if isinstance(doc, dict) and doc.get("kind") == "DaemonSet":
            return doc
    raise DeployError(f"{'/'.join(BASE)} holds no DaemonSet")


def render(
    name: str, image: str, env: Mapping[str, str] | None = None, namespace: str = DEFAULT_NAMESPACE
) -> dict[str, Any]:
    """The collector's DaemonSet: the base with this name, image and environment."""
    if not _NAME.match(name):
        raise BadRequest(f"name {name!r}: use lower-case letters, digits and '-' (≤ 63)")
    if not _NAME.match(namespace):
        raise BadRequest(f"namespace {namespace!r}: use lower-case letters, digits and '-'")
    if not image or not _IMAGE.match(image):
        raise BadRequest(f"image {image!r}: give an image reference such as ghcr.io/me/app:1.0")
    env = dict(env or {})
    for key, value in env.items():
        if not _ENV.match(key):
            raise BadRequest(f"env name {key!r}: letters, digits and '_', not starting with one")
        if not isinstance(value, str):
            raise BadRequest(f"env {key}={value!r}: values are strings (quote numbers)")
    ds = copy.deepcopy(base_daemonset())
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": FIELD_MANAGER}
    ds["metadata"] = {"name": name, "namespace": namespace, "labels": labels}
    ds["spec"]["selector"] = {"matchLabels": {"app.kubernetes.io/name": name}}
    template = ds["spec"]["template"]
    template["metadata"]["labels"] = dict(labels)
    pod = template["spec"]
    container = pod["containers"][0]
    container["name"] = name
    container["image"] = image
    current = container.setdefault("env", [])
    for key, value in env.items():
        for var in current:
            if var["name"] == key:
                var.pop("valueFrom", None)
                var["value"] = value
                break
        else:
            current.append({"name": key, "value": value})
    for volume in pod.get("volumes", []):
        host = volume.get("hostPath")
        if volume["name"] == "data" and host is not None:
            host["path"] = f"/var/lib/{name}"
    return ds


class EdgeDeploy:
    """Deploy edge apps on a cluster: `EdgeDeploy(cluster="pi").apply(name=…, image=…)`."""

    def __init__(
        self,
        cluster: str = "pi",
        *,
        namespace: str = DEFAULT_NAMESPACE,
        agent: str = "agent-bruno",
        token: str | None = None,
        kubeconfig: str | None = None,
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.agent = agent
        self._token = token
        self._kubeconfig = kubeconfig

    def _apps(self) -> Any:
        """The AppsV1 API on the context named after the cluster."""
        from kubernetes import client, config  # the SDK's only import of the vendor client
        from kubernetes.config.config_exception import ConfigException

        try:
            api = config.new_client_from_config(  # type: ignore[no-untyped-call]
                config_file=self._kubeconfig, context=self.cluster
            )
        except (ConfigException, OSError) as exc:
            raise DeployError(
                f"no kubeconfig context {self.cluster!r} ({exc}); name the context after the "
                "cluster, or pass kubeconfig="
            ) from None
        return client.AppsV1Api(api)

    def apply(
        self,
        name: str,
        image: str,
        env: Mapping[str, str] | None = None,
        *,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Render the DaemonSet and apply it (create or update); `dry_run=True` returns the
        manifest without contacting the cluster. Returns what the API server stored."""
        manifest = render(name, image, env, self.namespace)
        if dry_run:
            return manifest
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        apps = self._apps()
        try:
            stored = apps.patch_namespaced_daemon_set(
                name, self.namespace, manifest, field_manager=FIELD_MANAGER, force=True,
                _content_type="application/apply-patch+yaml",
            )  # fmt: skip
        except ApiException as exc:
            raise DeployError(
                f"the Kubernetes API of {self.cluster!r} refused {name!r} "
                f"({exc.status} {exc.reason}): {str(exc.body)[:300]}"
            ) from None
        except HTTPError as exc:
            raise DeployError(
                f"the Kubernetes API of {self.cluster!r} is unreachable: {exc}"
            ) from None
        finally:
            apps.api_client.close()
        result: dict[str, Any] = apps.api_client.sanitize_for_serialization(stored)
        return result

    def query_agent(self, question: str) -> Answer:
        """Ask the cluster's agent a question."""
        with EdgeData(self.agent, self._token) as data:
            return data.query(question)
