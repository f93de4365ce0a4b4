"""The README's SDK examples, run as written against a live agent (only the URL comes from the
environment, as the README says: HOMELAB_AGENT_URL and AGENT_BRUNO_API_TOKEN)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from homelab import EdgeData
from tests.unit.interfaces.live import LiveAgent

README = Path(__file__).resolve().parents[3] / "README.md"
EXAMPLE = re.compile(r"<!-- sdk-example -->\n```python\n(.*?)```", re.S)


def examples() -> list[str]:
    return EXAMPLE.findall(README.read_text(encoding="utf-8"))


def test_the_readme_has_the_sdk_examples() -> None:
    found = examples()
    assert len(found) == 2
    assert "from homelab import EdgeData" in found[0]
    assert "from homelab import EdgeDeploy" in found[1]


@pytest.mark.parametrize("index", [0, 1])
def test_readme_example_runs(
    index: int,
    agent: LiveAgent,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HOMELAB_AGENT_URL", agent.url)
    monkeypatch.setenv("AGENT_BRUNO_API_TOKEN", agent.token)
    namespace: dict[str, object] = {}
    code = compile(examples()[index], f"README.md example {index + 1}", "exec")
    try:
        exec(code, namespace)  # noqa: S102
    finally:  # a script's clients are closed when it exits; here, before the test ends
        for value in namespace.values():
            if isinstance(value, EdgeData):
                value.close()
    out = capsys.readouterr().out
    if index == 0:
        assert "dht22-1" in out
        assert "door or HVAC" in out
        assert "warehouse" in out
        assert "°C" in out
        assert "%" in out  # the streamed follow-up
    else:
        assert "ghcr.io/agent-bruno/edge-reporter:0.1.0" in out
        assert "pi-node-1" in out or "offline" in out.lower() or "nodes" in out.lower()
