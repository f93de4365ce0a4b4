"""Files the SDK reads at run time (`manifests/`: the project's base manifests, linked here and
copied into the wheel), found through `importlib.resources`."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable

FOLDERS = ("manifests",)


def asset(folder: str, *parts: str) -> Traversable:
    """The shipped file `folder/parts...` (`asset("manifests", "base", "edge-reporter.yaml")`)."""
    if folder not in FOLDERS:
        raise KeyError(f"{folder!r} is not a shipped asset folder; expected one of {FOLDERS}")
    return files(__name__).joinpath(folder, *parts)
