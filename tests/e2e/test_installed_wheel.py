"""The product as shipped: the wheel, built from the sdist, installed into fresh venvs.

An editable checkout once hid an agent that could not start (its prompts lived outside the
package). Here the sdist and the wheel are built once, the wheel is installed with the `agent`
extra into one venv and with the `edge` extra into another, both outside the checkout, and the
installed console scripts run from a directory that holds nothing of the repository:
`agent-bruno serve` answers /healthz and /query, `edge-reporter` starts, triages a spike and
delivers it. Installs are offline, from the wheelhouse `make test` fills once
(`<venv>/wheelhouse`, wheels of every pinned dependency); without it the test is skipped and says
how to make it, except under CI, where a missing wheelhouse fails.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agent_bruno.localrun import READY_TIMEOUT_S, free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
WHEELHOUSE = Path(sys.prefix) / "wheelhouse"
NODE = "pi-wheel"


def _run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with its output when it fails."""
    proc = subprocess.run(  # noqa: S603 - our interpreter and our files
        [str(a) for a in args], capture_output=True, text=True, check=False, **kwargs
    )
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@dataclass(frozen=True)
class Built:
    """The sdist and the wheel built from it."""

    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Build the sdist, then the wheel from that sdist (what `python -m build` publishes)."""
    if not (WHEELHOUSE / ".stamp").exists():
        message = f"no wheelhouse at {WHEELHOUSE}: `make test` fills it (or `make wheelhouse`)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, REPO], cwd=out)
    (sdist,) = out.glob("agent_bruno-*.tar.gz")
    (wheel,) = out.glob("agent_bruno-*.whl")
    return Built(sdist, wheel)


def _venv(root: Path, requirement: str) -> Path:
    """A fresh venv under `root` with `requirement` installed offline from the wheelhouse."""
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "venv", "--without-pip", str(root)], check=True
    )
    python = root / "bin" / "python"
    # This venv's pip installs into the new one: no ensurepip, no network, no compiling twice.
    _run(
        [
            *(sys.executable, "-m", "pip", "--python", python, "install", "--quiet"),
            *("--disable-pip-version-check", "--no-index", "--find-links", WHEELHOUSE),
            requirement,
        ]
    )
    return root


@pytest.fixture(scope="module")
def agent_venv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel with the `agent` extra, as the agent image installs it."""
    return _venv(tmp_path_factory.mktemp("venv-agent"), f"{built.wheel}[agent]")


@pytest.fixture(scope="module")
def edge_venv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel with the `edge` extra only, as the reporter image installs it."""
    return _venv(tmp_path_factory.mktemp("venv-edge"), f"{built.wheel}[edge]")


def _clean_env(venv: Path, **extra: str) -> dict[str, str]:
    """An environment that cannot reach the checkout: no PYTHONPATH, the venv's bin first."""
    return {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(venv),
        "LANG": "C.UTF-8",
        **extra,
    }


def _wait_for(
    what: str, check: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what}: process exited {proc.returncode}:\n{log.read_text()}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()}")


def _spawn(
    command: list[str], env: dict[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:
        return subprocess.Popen(  # noqa: S603 - the installed console scripts
            command, env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT
        )


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started by a test, killed after it if still running."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_sdist_and_wheel_ship_every_runtime_file(built: Built) -> None:
    """Each asset the packages link to is in the sdist and the wheel, byte for byte."""
    with zipfile.ZipFile(built.wheel) as whl:
        wheel_files = {name: whl.read(name) for name in whl.namelist()}
    with tarfile.open(built.sdist) as tar:
        root = tar.getnames()[0].split("/")[0]
        sdist_files = {m.name.removeprefix(root + "/"): m for m in tar.getmembers() if m.isfile()}
    shipped = {
        "agent_bruno/assets/prompts": sorted((REPO / "prompts").glob("*.md")),
        "edge_reporter/assets/prompts": [REPO / "prompts" / "edge_explanation.md"],
        "agent_bruno/assets/graph": sorted((REPO / "graph").glob("*.*")),
        "agent_bruno/assets/graph/queries/read": sorted((REPO / "graph/queries/read").glob("*")),
        "agent_bruno/assets/graph/queries/write": sorted((REPO / "graph/queries/write").glob("*")),
        "homelab/assets/manifests/base": [REPO / "manifests/base/edge-reporter.yaml"],
        "agent_bruno/assets/web": sorted((REPO / "web").glob("*.*")),
    }
    for target, sources in shipped.items():
        assert sources, target
        for source in sources:
            name = f"{target}/{source.name}"
            assert wheel_files.get(name) == source.read_bytes(), f"{name} not in the wheel"
            assert name in sdist_files, f"{name} not in the sdist"


def test_wheel_metadata_has_one_version_the_license_and_urls(built: Built) -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert built.wheel.name.startswith(f"agent_bruno-{version}-")
    with zipfile.ZipFile(built.wheel) as whl:
        info = f"agent_bruno-{version}.dist-info"
        metadata = whl.read(f"{info}/METADATA").decode()
        assert whl.read(f"{info}/licenses/LICENSE") == (REPO / "LICENSE").read_bytes()
        scripts = whl.read(f"{info}/entry_points.txt").decode()
    assert "License-Expression: MIT" in metadata
    assert "Project-URL: Source, " in metadata
    assert "Classifier: Operating System :: POSIX :: Linux" in metadata
    assert "agent-bruno = agent_bruno.launch:main" in scripts
    assert "edge-reporter = edge_reporter.distribution:edge_reporter" in scripts


def test_agent_command_under_the_edge_extra_names_the_extra(edge_venv: Path) -> None:
    """No ImportError traceback: the message says which extra to install."""
    proc = subprocess.run(  # noqa: S603
        [edge_venv / "bin" / "agent-bruno", "serve"],
        capture_output=True,
        text=True,
        cwd=edge_venv,
        env=_clean_env(edge_venv),
        check=False,
    )
    assert proc.returncode == 2
    assert "pip install 'agent-bruno[agent]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_edge_venv_holds_no_agent_stack(edge_venv: Path) -> None:
    """The reporter image's install has none of FastAPI, pydantic or LangChain."""
    probe = (
        "import importlib.util as u; "
        "print(','.join(m for m in ('fastapi', 'pydantic', 'langchain_core', 'langgraph', "
        "'uvicorn', 'starlette') if u.find_spec(m)))"
    )
    out = _run([edge_venv / "bin" / "python", "-c", probe], cwd=edge_venv).stdout.strip()
    assert out == ""


def test_installed_agent_and_reporter_start_and_answer(
    agent_venv: Path, edge_venv: Path, tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    """`agent-bruno serve` and `edge-reporter` from the installed wheel work end to end."""
    where = _run(
        [agent_venv / "bin" / "python", "-c", "import agent_bruno; print(agent_bruno.__file__)"],
        cwd=tmp_path,
        env=_clean_env(agent_venv),
    ).stdout.strip()
    assert Path(where).is_relative_to(agent_venv), where

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    token = secrets.token_urlsafe(24)
    agent_log = tmp_path / "agent.log"
    agent = _spawn(
        ["agent-bruno", "serve", "--log-level", "warning"],
        _clean_env(
            agent_venv,
            AGENT_BRUNO_HOST="127.0.0.1",
            AGENT_BRUNO_PORT=str(port),
            AGENT_BRUNO_DATA_DIR=str(tmp_path / "agent"),
            AGENT_BRUNO_REPORTER_TOKENS=f"{NODE}={token}",
        ),
        tmp_path,
        agent_log,
    )
    procs.append(agent)
    _wait_for("/healthz", lambda: httpx.get(f"{url}/healthz").status_code == 200, agent, agent_log)
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}

    reporter_log = tmp_path / "reporter.log"
    read_port, read_token = free_port(), secrets.token_urlsafe(24)
    reporter = _spawn(
        ["edge-reporter"],
        _clean_env(
            edge_venv,
            STUDIO_AGENT_URL=url,
            AGENT_TOKEN=token,
            NODE_NAME=NODE,
            LOCATION="lab",
            REPORT_INTERVAL="0.1",
            AGGREGATE_INTERVAL="1",
            SENSORS="sim-dht22:dht22-1",
            # Past the DHT22's 80 °C range at ~1 s: critical by hard limit, pushed at once.
            FAULTS="dht22-1/temperature:spike@1:+70",
            DATA_DIR=str(tmp_path / "reporter"),
            READ_API_PORT=str(read_port),
            READ_API_TOKEN=read_token,
            SEED="7",
        ),
        tmp_path,
        reporter_log,
    )
    procs.append(reporter)

    def critical_arrived() -> bool:
        body = httpx.get(
            f"{url}/v1/anomalies",
            params={"node": NODE, "severity": "critical", "start": "-1h", "view": "readings"},
        ).json()
        return any(a["value"] > 80 for a in body["anomalies"])

    _wait_for("the reporter's critical at the agent", critical_arrived, reporter, reporter_log)
    _wait_for(
        "an aggregate at the agent",
        lambda: bool(
            httpx.get(f"{url}/v1/series", params={"node": NODE, "metric": "humidity"}).json()[
                "series"
            ]
        ),
        reporter,
        reporter_log,
    )

    answer = httpx.post(
        f"{url}/query",
        content="What's the humidity in the lab?",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert "lab" in answer.text.lower(), answer.text
    assert NODE in answer.text, answer.text
    assert "%" in answer.text, answer.text

    scrape = httpx.get(
        f"http://127.0.0.1:{read_port}/metrics",
        headers={"Authorization": f"Bearer {read_token}"},
        timeout=5,
    )
    assert scrape.status_code == 200, scrape.text
    assert 'edge_reporter_verdicts_total{severity="critical"} 1.0' in scrape.text

    reporter.send_signal(signal.SIGTERM)
    assert reporter.wait(30) == 0, reporter_log.read_text()
    agent.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert agent.wait(30) in (0, -signal.SIGTERM), agent_log.read_text()
    assert "Traceback" not in agent_log.read_text() + reporter_log.read_text()
