"""One seeded agent for the SDK and browser tests of this folder (started once)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.interfaces.live import LiveAgent, running_agent


@pytest.fixture(scope="session")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAgent]:
    tmp: Path = tmp_path_factory.mktemp("live-agent")
    with running_agent(tmp, alert_allow_hosts=["127.0.0.1/32"]) as live:
        yield live
