"""The suite's own hygiene: a run leaves no event loop unclosed for the collector to find later.

A leaked loop's ResourceWarning is raised (warnings are errors) inside whichever test runs when
the garbage collector gets to it, far from the test that leaked it. Here a fresh interpreter runs
the suite's conftest.py over a sync test, then an async one, then a collection.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def test_a_sync_test_before_the_first_async_one_leaks_no_event_loop(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings =\n    error\n"
    )
    (tmp_path / "test_order.py").write_text(
        textwrap.dedent(
            """
            import gc

            def test_sync_first():
                pass

            async def test_async_next():
                pass

            def test_collect_what_is_left():
                gc.collect()
            """
        )
    )
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:cloudcoil",
         "-W", "error::ResourceWarning", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout, done.stdout
