"""The packages' asset links, their declared folders and pyproject's package-data agree.

A folder linked but not declared would be missing from the wheel; one declared but not linked
would be missing from a checkout. The installed-wheel test (tests/e2e) proves the copies ship.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agent_bruno.agent.prompts import PromptError, load_prompts
from agent_bruno.assets import FOLDERS, asset
from edge_reporter import distribution

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DATA = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
    "package-data"
]


@pytest.mark.parametrize("package", ["agent_bruno", "edge_reporter", "homelab"])
def test_every_asset_link_points_at_a_top_level_folder_and_is_packaged(package: str) -> None:
    links = sorted((REPO / package / "assets").iterdir())
    links = [p for p in links if p.is_symlink()]
    assert links, f"{package}/assets links nothing"
    patterns = PACKAGE_DATA[f"{package}.assets"]
    for link in links:
        target = link.resolve()
        assert target.parent == REPO, f"{link} should link a top-level folder, not {target}"
        assert target.is_dir(), f"{link} points at nothing"
        assert any(p.startswith(f"{link.name}/") for p in patterns), (
            f"{link.name} has no pattern under [tool.setuptools.package-data] "
            f'"{package}.assets" in pyproject.toml'
        )


def test_declared_folders_are_the_linked_ones() -> None:
    linked = {p.name for p in (REPO / "agent_bruno" / "assets").iterdir() if p.is_symlink()}
    assert set(FOLDERS) == linked


def test_assets_are_read_through_importlib_resources() -> None:
    assert asset("prompts", "agent_system.md").read_text(encoding="utf-8").strip()
    with pytest.raises(KeyError, match="not a shipped asset folder"):
        asset("nowhere")


def test_a_missing_prompt_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match=r"agent_system\.md"):
        load_prompts(tmp_path)


def test_version_comes_from_pyproject_only() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["version"] == distribution.VERSION


def test_launch_names_the_extra_when_a_dependency_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_fastapi(name: str) -> None:
        raise ModuleNotFoundError("No module named 'fastapi'", name="fastapi")

    monkeypatch.setattr(distribution.importlib, "import_module", no_fastapi)
    assert distribution.launch("agent_bruno.cli:main", extra="agent", prog="agent-bruno") == 2
    err = capsys.readouterr().err
    assert "'fastapi' is not installed" in err
    assert "pip install 'agent-bruno[agent]'" in err


def test_launch_lets_a_bug_in_our_own_code_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(name: str) -> None:
        raise ModuleNotFoundError("No module named 'agent_bruno.nope'", name="agent_bruno.nope")

    monkeypatch.setattr(distribution.importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError):
        distribution.launch("agent_bruno.cli:main", extra="agent", prog="agent-bruno")


def _stages() -> dict[str, list[str]]:
    """Dockerfile instructions by stage name (continuation lines joined)."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("FROM "):
            current = stages.setdefault(line.split()[-1], [])
        current.append(line)
    return stages


def test_each_image_installs_its_own_extra_and_runs_as_non_root() -> None:
    stages = _stages()
    assert any('"$EXTRA_REQUIREMENTS" edge' in line for line in stages["deps-edge"])
    assert any('"$EXTRA_REQUIREMENTS" agent' in line for line in stages["deps-agent"])
    for image, deps in (("edge-reporter", "deps-edge"), ("agent-bruno", "deps-agent")):
        lines = stages[image]
        assert lines[0] == f"FROM {deps} AS {image}"
        assert "USER 10001:10001" in lines, image
        assert any("pip install --no-deps /tmp/dist/*.whl" in line for line in lines), image
        assert not any(line.startswith("COPY . ") for line in lines), image


def test_dockerignore_lets_in_what_the_wheel_is_built_from() -> None:
    allowed = {
        line.strip().removeprefix("!").rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    needed = {"pyproject.toml", "README.md", "LICENSE", "constraints.txt"}
    needed |= {"agent_bruno", "edge_reporter", "homelab"}
    needed |= {
        link.resolve().name
        for package in ("agent_bruno", "edge_reporter", "homelab")
        for link in (REPO / package / "assets").iterdir()
        if link.is_symlink()
    }
    # A folder is in when allowed whole, or when the files its package ships are.
    missing = {
        n for n in needed if n not in allowed and not any(a.startswith(f"{n}/") for a in allowed)
    }
    assert not missing, f"add to .dockerignore: {sorted(missing)}"
