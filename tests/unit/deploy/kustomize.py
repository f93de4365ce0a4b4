"""A small kustomize renderer for the tests: the subset `manifests/` uses, and nothing more.

No `kustomize` or `kubectl` binary comes from the registries CI can reach (Debian's
kubernetes-client is 1.20, whose kustomize predates overlays written like ours). So the tests
render with this, and where a `kubectl` with kustomize v5 is on the PATH, a test renders every
overlay with both and requires the same objects (`test_kustomize.py`).

Supported: `resources` (files and directories), `namespace`, `labels` (metadata labels only,
not selectors or templates), `images` (newName / newTag / digest), `configMapGenerator` and
`secretGenerator` (files, literals, envs; labels and annotations; only with
`disableNameSuffixHash`), and `patches` (strategic merge by the merge keys of the lists we
patch, or JSON 6902 with a kind/name target). Anything else is refused with an error naming it,
so a kustomization cannot silently render differently here than on a cluster.
"""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import jsonpatch
import yaml

Obj = dict[str, Any]

KNOWN = frozenset(
    {
        "apiVersion",
        "kind",
        "resources",
        "namespace",
        "labels",
        "images",
        "configMapGenerator",
        "secretGenerator",
        "generatorOptions",
        "patches",
    }
)
CLUSTER_SCOPED = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
)
POD_OWNERS = frozenset({"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"})
# Strategic-merge keys of the lists our patches touch (from the Kubernetes API's patchMergeKey).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not support, or is wrong."""


def build(root: Path) -> list[Obj]:
    """Render the kustomization in `root` into its objects."""
    path = root / "kustomization.yaml"
    try:
        spec: Obj = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise KustomizeError(f"{path}: {exc}") from None
    unknown = set(spec) - KNOWN
    if unknown:
        raise KustomizeError(f"{path}: unsupported fields {sorted(unknown)}")
    objects: list[Obj] = []
    for ref in spec.get("resources", []):
        target = root / ref
        if target.is_dir():
            objects.extend(build(target))
        elif target.is_file():
            objects.extend(d for d in yaml.safe_load_all(target.read_text("utf-8")) if d)
        else:
            raise KustomizeError(f"{path}: resource {ref!r} does not exist")
    options = spec.get("generatorOptions", {})
    for gen in spec.get("configMapGenerator", []):
        objects.append(_generate(root, "ConfigMap", gen, options))
    for gen in spec.get("secretGenerator", []):
        objects.append(_generate(root, "Secret", gen, options))
    for patch in spec.get("patches", []):
        _patch(root, objects, patch)
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = spec["namespace"]
    for group in spec.get("labels", []):
        if group.get("includeSelectors") or group.get("includeTemplates"):
            raise KustomizeError(f"{path}: labels with includeSelectors/includeTemplates")
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(group["pairs"])
    for image in spec.get("images", []):
        _retag(objects, image)
    return objects


def _generate(root: Path, kind: str, gen: Obj, options: Obj) -> Obj:
    merged = {**options, **gen.get("options", {})}
    if not merged.get("disableNameSuffixHash"):
        raise KustomizeError(f"{gen['name']}: name suffix hashes are not supported here")
    if gen.get("behavior", "create") != "create":
        raise KustomizeError(f"{gen['name']}: behavior {gen['behavior']!r} is not supported")
    data: dict[str, str] = {}
    for item in gen.get("files", []):
        key, sep, rel = str(item).partition("=")
        rel = rel if sep else key
        key = key if sep else Path(rel).name
        data[key] = _read(root / rel)
    for item in gen.get("literals", []):
        key, _, value = str(item).partition("=")
        data[key] = value
    for rel in gen.get("envs", []):
        for line in _read(root / rel).splitlines():
            text = line.strip()
            if text and not text.startswith("#"):
                key, sep, value = text.partition("=")
                if not sep:
                    raise KustomizeError(f"{root / rel}: {text!r} is not KEY=VALUE")
                data[key] = value
    meta: Obj = {"name": gen["name"]}
    for field in ("labels", "annotations"):
        if merged.get(field):
            meta[field] = dict(merged[field])
    obj: Obj = {"apiVersion": "v1", "kind": kind, "metadata": meta}
    if kind == "Secret":
        obj["type"] = gen.get("type", "Opaque")
        obj["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    else:
        obj["data"] = data
    return obj


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KustomizeError(f"cannot read {path}: {exc.strerror}") from None


def _patch(root: Path, objects: list[Obj], entry: Obj) -> None:
    text = _read(root / entry["path"]) if "path" in entry else entry["patch"]
    body = yaml.safe_load(text)
    target = entry.get("target")
    if isinstance(body, list):
        if target is None:
            raise KustomizeError("a JSON 6902 patch needs a target")
        matches = [o for o in objects if _matches(o, target)]
        if not matches:
            raise KustomizeError(f"patch target {target} matches nothing")
        for obj in matches:
            patched = jsonpatch.apply_patch(obj, body)
            obj.clear()
            obj.update(patched)
        return
    selector = target or {"kind": body["kind"], "name": body["metadata"]["name"]}
    matches = [o for o in objects if _matches(o, selector)]
    if not matches:
        raise KustomizeError(f"patch for {selector} matches nothing")
    for obj in matches:
        merged = _merge(obj, {k: v for k, v in body.items() if k not in ("apiVersion", "kind")})
        obj.clear()
        obj.update(merged)


def _matches(obj: Obj, target: Obj) -> bool:
    unknown = set(target) - {"kind", "name"}
    if unknown:
        raise KustomizeError(f"patch target fields {sorted(unknown)} are not supported")
    return all(
        (obj["kind"] if key == "kind" else obj["metadata"]["name"]) == value
        for key, value in target.items()
    )


def _merge(base: Any, patch: Any, field: str | None = None) -> Any:
    """Strategic merge: maps recursively, keyed lists by their merge key, other lists replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = _merge(out[key], value, key)
            else:
                out[key] = copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, list) and field in MERGE_KEYS:
        # As kustomize orders them: the patch's items first (merged into the base's item of the
        # same key), then the base's other items in their order.
        key = MERGE_KEYS[field]
        by_key = {item.get(key): item for item in base}
        patched = {item.get(key) for item in patch}
        merged = [
            _merge(by_key[item[key]], item, None) if item.get(key) in by_key else item
            for item in patch
        ]
        rest = [item for item in base if item.get(key) not in patched]
        return copy.deepcopy([*merged, *rest])
    return copy.deepcopy(patch)


def pod_spec(obj: Obj) -> Obj | None:
    """The pod spec of a workload (None for other kinds)."""
    if obj["kind"] in POD_OWNERS:
        spec: Obj = obj["spec"]["template"]["spec"]
        return spec
    return None


def _retag(objects: list[Obj], image: Obj) -> None:
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        for container in [*spec.get("containers", []), *spec.get("initContainers", [])]:
            name = str(container["image"]).split("@")[0]
            if ":" in name.rsplit("/", 1)[-1]:
                name = name.rsplit(":", 1)[0]
            if name != image["name"]:
                continue
            new = image.get("newName", name)
            old_tag = str(container["image"])[len(name) :]
            if "digest" in image:
                container["image"] = f"{new}@{image['digest']}"
            elif "newTag" in image:
                container["image"] = f"{new}:{image['newTag']}"
            else:
                container["image"] = f"{new}{old_tag}"
