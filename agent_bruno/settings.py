"""Service settings from `AGENT_BRUNO_*` variables; the only module that reads the environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from edge_reporter.auth_policy import is_loopback, secret_problem


class SettingsError(ValueError):
    """A setting has a value the service refuses to run with."""


def _check_secret(name: str, value: str) -> None:
    """Refuse placeholder or short secrets, naming the setting."""
    problem = secret_problem(value)
    if problem is not None:
        raise SettingsError(f"{name} {problem}")


def parse_token_map(raw: str, source: str) -> dict[str, str]:
    """Parse `node=token,node=token` (or a JSON object) into a node → token mapping."""
    text = raw.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"{source} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise SettingsError(f'{source} must be a JSON object {{"node": "token", ...}}')
        return dict(data)
    result: dict[str, str] = {}
    for part in text.split(","):
        node, sep, token = part.strip().partition("=")
        if not sep or not node.strip() or not token.strip():
            raise SettingsError(
                f"{source}: entry {part.strip()!r} is not `node=token`; "
                'write e.g. "pi-node-1=<token>,pi-node-2=<token>"'
            )
        result[node.strip()] = token.strip()
    return result


def _read_token_file(path: Path) -> dict[str, str]:
    """Node → token from a mounted Secret file (JSON object or `node=token,...`)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            f"AGENT_BRUNO_REPORTER_TOKENS_FILE={path}: cannot read it ({exc}); "
            "mount the Secret there or unset the variable"
        ) from exc
    return parse_token_map(raw, f"AGENT_BRUNO_REPORTER_TOKENS_FILE={path}")


class Settings(BaseSettings):
    """Everything the agent service is configured with."""

    model_config = SettingsConfigDict(env_prefix="AGENT_BRUNO_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=30120, ge=1, le=65535)
    data_dir: Path = Path("var/agent-bruno")
    reporter_tokens: Annotated[dict[str, SecretStr], NoDecode] = Field(default_factory=dict)
    reporter_tokens_file: Path | None = None
    api_token: SecretStr | None = None
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    hot_retention_days: float = Field(default=30.0, gt=0)
    rollup_retention_days: float = Field(default=365.0, gt=0)
    retention_interval_s: float = Field(default=600.0, gt=0)
    retention_batch_rows: int = Field(default=5_000, ge=1)
    offline_after_intervals: float = Field(default=3.0, gt=0)
    cpu_warn_percent: float = 90.0
    memory_warn_percent: float = 90.0
    disk_warn_percent: float = 90.0
    soc_temp_warn_c: float = 75.0
    outbox_depth_warn: int = Field(default=50, ge=0)
    writer_max_batch: int = Field(default=256, ge=1)
    writer_queue_size: int = Field(default=10_000, ge=1)
    access_log: bool = False
    _token_nodes: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("reporter_tokens", mode="before")
    @classmethod
    def _parse_tokens(cls, value: Any) -> Any:
        """Accept `node=token,...` or JSON text as well as a mapping."""
        if isinstance(value, str):
            return parse_token_map(value, "AGENT_BRUNO_REPORTER_TOKENS")
        return value

    @model_validator(mode="after")
    def _check(self) -> Settings:
        """Refuse placeholder secrets and an unauthenticated non-loopback read API."""
        tokens = {node: t.get_secret_value() for node, t in self.reporter_tokens.items()}
        if self.reporter_tokens_file is not None:
            tokens.update(_read_token_file(self.reporter_tokens_file))
        by_token: dict[str, str] = {}
        for node, secret in tokens.items():
            _check_secret(f"AGENT_BRUNO_REPORTER_TOKENS[{node}]", secret)
            if secret in by_token:
                raise SettingsError(
                    f"AGENT_BRUNO_REPORTER_TOKENS: nodes {by_token[secret]!r} and {node!r} share "
                    "a token; give every reporter its own token"
                )
            by_token[secret] = node
        self._token_nodes = by_token
        if self.api_token is not None:
            _check_secret("AGENT_BRUNO_API_TOKEN", self.api_token.get_secret_value())
        elif not is_loopback(self.host):
            raise SettingsError(
                f"AGENT_BRUNO_HOST={self.host} is not a loopback address and "
                "AGENT_BRUNO_API_TOKEN is unset: the read API would be open to the network. "
                "Set AGENT_BRUNO_API_TOKEN, or bind 127.0.0.1"
            )
        return self

    def token_to_node(self) -> dict[str, str]:
        """Token → node for every reporter (variable and file), for `POST /v1/events`."""
        return dict(self._token_nodes)

    @property
    def reads_open(self) -> bool:
        """Whether reads need no token (loopback bind without an API token: the demo)."""
        return self.api_token is None and is_loopback(self.host)

    @property
    def database_path(self) -> Path:
        """The SQLite database file inside the data directory."""
        return self.data_dir / "agent-bruno.db"
