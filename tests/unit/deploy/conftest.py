"""The overlays rendered once per session, as a newcomer would: secrets made by the script."""

from __future__ import annotations

import shutil
import subprocess
import sys
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
    for overlay in OVERLAYS:
        subprocess.run(  # noqa: S603 - our interpreter, our script
            [sys.executable, str(root / "make_secrets.py"), str(root / "overlays" / overlay)],
            check=True,
            capture_output=True,
        )
    return root


@pytest.fixture(scope="session")
def rendered(manifests_copy: Path) -> dict[str, list[dict[str, Any]]]:
    """Each overlay's objects."""
    return {name: build(manifests_copy / "overlays" / name) for name in OVERLAYS}
