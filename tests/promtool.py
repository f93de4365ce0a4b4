"""Run Prometheus's `promtool` (Debian package `prometheus`, installed by `.ci/run`).

Without it a test is skipped, visibly, on a developer's machine; under CI (`CI` set) it fails,
because CI must run these checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def promtool() -> str:
    """The promtool binary, or skip (fail under CI) saying how to get it."""
    found = shutil.which("promtool")
    if found is None:
        message = "promtool not found: apt-get install prometheus (CI installs it in .ci/run)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def check_metrics(exposition: bytes) -> None:
    """`promtool check metrics` on a text exposition: fail the test with its findings."""
    proc = subprocess.run(  # noqa: S603 - the system's promtool
        [promtool(), "check", "metrics"], input=exposition, capture_output=True, check=False
    )
    findings = (proc.stdout + proc.stderr).decode(errors="replace").strip()
    assert proc.returncode == 0, f"promtool check metrics:\n{findings}"
    assert not findings, f"promtool check metrics:\n{findings}"


def check_rules(path: Path) -> str:
    """`promtool check rules` on a rules file; return its report."""
    proc = subprocess.run(  # noqa: S603 - the system's promtool
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"promtool check rules:\n{proc.stdout}{proc.stderr}"
    return proc.stdout
