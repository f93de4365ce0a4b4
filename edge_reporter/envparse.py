"""Small parsers of environment values shared by the configuration modules.

Each raises `ConfigError` naming the variable, the value and what was expected. Only
`config.ReporterConfig.from_env` hands them the process environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class ConfigError(ValueError):
    """A configuration variable is missing or has a value the reporter cannot use."""


def err(name: str, value: str, expected: str) -> ConfigError:
    """The error for NAME=value, saying what was expected."""
    return ConfigError(f"{name}={value!r}: expected {expected}")


def get(env: Mapping[str, str], name: str) -> str | None:
    """The stripped value of NAME, None when unset or blank."""
    value = env.get(name)
    return None if value is None or not value.strip() else value.strip()


def required(env: Mapping[str, str], name: str, expected: str) -> str:
    """The value of NAME, which must be set."""
    value = get(env, name)
    if value is None:
        raise ConfigError(f"{name} is not set: expected {expected}")
    return value


def value_or_file(env: Mapping[str, str], name: str, expected: str) -> tuple[str, str]:
    """NAME, or the content of NAME_FILE (a per-node key of a mounted Secret or ConfigMap).

    A DaemonSet gives every Pi the same environment, so per-node values come from a file named
    after the node. Returns the value and where it came from, for error messages.
    """
    file_name = f"{name}_FILE"
    value, path = get(env, name), get(env, file_name)
    if value is not None and path is not None:
        raise ConfigError(f"{name} and {file_name} are both set: expected only one")
    if path is None:
        return required(env, name, f"{expected} (or {file_name})"), name
    try:
        content = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise err(file_name, path, f"a readable file holding {expected} ({exc})") from None
    return content, f"{file_name} ({path})"


def checked_name(name: str, value: str) -> str:
    """`value` when it is a valid name (node, location, sensor, client id)."""
    if not NAME.fullmatch(value):
        raise err(name, value, "1-128 letters, digits, '.', '_' or '-', starting alphanumeric")
    return value


def number(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    """NAME as a finite number ≥ `minimum`, or `default` when unset."""
    raw = get(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise err(name, raw, f"a number ≥ {minimum:g}") from None
    if not value >= minimum or value == float("inf"):
        raise err(name, raw, f"a number ≥ {minimum:g}")
    return value


def integer(env: Mapping[str, str], name: str, default: int, *, lo: int, hi: int) -> int:
    """NAME as a whole number in lo..hi, or `default` when unset."""
    raw = get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise err(name, raw, f"a whole number in {lo}..{hi}") from None
    if not lo <= value <= hi:
        raise err(name, raw, f"a whole number in {lo}..{hi}")
    return value
