"""Data files the reporter reads at run time, found through `importlib.resources`.

`prompts` is a symbolic link to the repository's top-level `prompts/` (the source of truth);
the wheel ships only the files named under `[tool.setuptools.package-data]` in pyproject.toml.
"""
