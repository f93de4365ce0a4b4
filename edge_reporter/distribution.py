"""The installed distribution: its one version, and console entry points that name a missing extra.

The version lives only in pyproject.toml; code reads it from the installed metadata (an editable
install has it too). Both packages ship in one wheel whose extras pick the dependencies, so a
command run under the wrong extra would die in an ImportError traceback: `launch` says instead
which extra to install.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "agent-bruno"
OWN_PACKAGES = frozenset({"agent_bruno", "edge_reporter"})

try:
    VERSION = version(DISTRIBUTION)
except PackageNotFoundError:  # a bare checkout on PYTHONPATH, never installed
    VERSION = "0+unknown"


def missing_extra_message(prog: str, extra: str, module: str) -> str:
    """What to tell a person whose `prog` lacks `module`, a dependency of the `extra` extra."""
    return (
        f"{prog}: the Python package {module!r} is not installed; `{prog}` needs the "
        f"`{extra}` extra: pip install '{DISTRIBUTION}[{extra}]'"
    )


def launch(target: str, *, extra: str, prog: str) -> int:
    """Import `module:function` and run it; exit 2 naming `extra` if a dependency is missing."""
    module_name, _, function = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if not missing or missing in OWN_PACKAGES:
            raise
        print(missing_extra_message(prog, extra, missing), file=sys.stderr)
        return 2
    result = getattr(module, function)()
    return int(result or 0)


def edge_reporter() -> int:
    """The `edge-reporter` console script."""
    return launch("edge_reporter.main:main", extra="edge", prog="edge-reporter")
