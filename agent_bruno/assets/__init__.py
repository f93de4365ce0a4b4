"""Data files the service reads at run time, found through `importlib.resources`.

Each entry of this package is a symbolic link to a top-level folder of the repository
(`prompts/`, `graph/`), which stays the source of truth. Building a wheel or an sdist copies the
linked files into the package, so an installed agent finds them exactly as a checkout or an
editable install does.
To ship another folder (schemas, web assets): add the link here
(`ln -s ../../web agent_bruno/assets/web`), name it in `FOLDERS`, give its files a pattern
under `[tool.setuptools.package-data]` in pyproject.toml and allow it in `.dockerignore`;
`tests/unit/test_packaging.py` fails until they agree, and the installed-wheel test proves it.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

FOLDERS = ("prompts", "graph", "web")


def asset(folder: str, *parts: str) -> Traversable:
    """The shipped file or folder `folder/parts...` (e.g. `asset("prompts", "agent_system.md")`)."""
    if folder not in FOLDERS:
        raise KeyError(f"{folder!r} is not a shipped asset folder; expected one of {FOLDERS}")
    return files(__name__).joinpath(folder, *parts)
