"""Authentication policy shared by the reporter and the agent (pure, stdlib).

Which bearer tokens are refused (a reporter's token must pass the same test on both sides), and
when a listener may go without one: only on loopback. It lives in the stdlib-only package so the
reporter can use it without the agent's dependencies.
"""

from __future__ import annotations

import ipaddress

MIN_SECRET_LENGTH = 16
_PLACEHOLDERS = frozenset({"secret", "password", "token", "example", "test", "default"})
_PLACEHOLDER_PARTS = ("changeme", "change-me", "change_me", "replace-me", "placeholder", "your-")
_GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def placeholder_problem(value: str) -> str | None:
    """Why `value` looks like a placeholder, not a secret (quoting ≤ 4 characters), or None."""
    lowered = value.strip().lower()
    if (
        lowered in _PLACEHOLDERS
        or any(part in lowered for part in _PLACEHOLDER_PARTS)
        or len(set(lowered)) <= 2
    ):
        return f"looks like a placeholder ({value[:4]}…)"
    return None


def secret_problem(value: str) -> str | None:
    """Why `value` is refused as a secret (never quoting more than 4 characters), or None."""
    placeholder = placeholder_problem(value)
    if placeholder is not None:
        return f"{placeholder}; generate one with `{_GENERATE}`"
    if len(value) < MIN_SECRET_LENGTH:
        return (
            f"is {len(value)} characters long; use at least {MIN_SECRET_LENGTH} random "
            f"characters (generate one with `{_GENERATE}`)"
        )
    return None


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (or `localhost`), where no token is required."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
