"""The overlays rendered once per session, as a newcomer would: secrets made by the script."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.unit.deploy.kustomize import build

REPO = Path(__file__).resolve().parents[3]
MANIFESTS = REPO / "manifests"
OVERLAYS = ("demo", "pi")


@pytest.fixture(scope="session")
def manifests_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of manifests/ with each overlay's secrets made by make_secrets.py."""
    root = tmp_path_factory.mktemp("manifests") / "manifests"
    shutil.copytree(MANIFESTS, root, ignore=shutil.ignore_patterns("secrets"))
    # The copy's own script, run in this process (its `make_secrets`, as `main` calls it).
    spec = importlib.util.spec_from_file_location("make_secrets_copy", root / "make_secrets.py")
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for overlay in OVERLAYS:
        script.make_secrets(root / "overlays" / overlay)
    return root


@pytest.fixture(scope="session")
def rendered(manifests_copy: Path) -> dict[str, list[dict[str, Any]]]:
    """Each overlay's objects."""
    return {name: build(manifests_copy / "overlays" / name) for name in OVERLAYS}
