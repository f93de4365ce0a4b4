"""`agent-bruno graph`: export, import and rebuild of a stopped agent's graph (offline), and the
message when the agent cannot be reached."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_bruno.cli import main
from agent_bruno.demo_history import history
from tests.unit.knowledge.facts import T0


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AGENT_BRUNO_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    return tmp_path


def test_import_export_rebuild_offline(data: Path, capsys: pytest.CaptureFixture[str]):
    taught = data / "taught.json"
    taught.write_text(json.dumps(history(T0)))
    assert main(["graph", "import", str(taught), "--offline"]) == 0
    assert json.loads(capsys.readouterr().out)["imported"] == {"incidents": 3, "episodes": 3}
    assert main(["graph", "rebuild", "--offline"]) == 0
    assert json.loads(capsys.readouterr().out)["imported"]["incidents"] == 3
    out = data / "out.json"
    assert main(["graph", "export", str(out), "--offline"]) == 0
    assert "wrote 3 incident(s)" in capsys.readouterr().out
    assert len(json.loads(out.read_text())["incidents"]) == 3


def test_a_bad_file_and_an_unreachable_agent_are_named(
    data: Path, capsys: pytest.CaptureFixture[str]
):
    bad = data / "bad.json"
    bad.write_text('{"format": "something else"}')
    assert main(["graph", "import", str(bad), "--offline"]) == 1
    assert "not an agent-bruno knowledge file" in capsys.readouterr().err
    assert main(["graph", "rebuild", "--url", "http://127.0.0.1:9"]) == 1
    assert "is the agent running?" in capsys.readouterr().err
