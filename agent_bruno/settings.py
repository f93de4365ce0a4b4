"""Service settings from `AGENT_BRUNO_*` variables; the only module that reads the environment."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from edge_reporter.auth_policy import is_loopback, secret_problem

NEO4J_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


class SettingsError(ValueError):
    """A setting has a value the service refuses to run with."""


def check_origin(origin: str) -> str:
    """A browser origin (`scheme://host[:port]`) or `*`, as CORS compares them."""
    text = origin.strip().rstrip("/")
    if text == "*":
        return text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise SettingsError(
            f"AGENT_BRUNO_CORS_ORIGINS: {origin!r} is not an origin; write scheme, host and "
            "port only, e.g. https://grafana.lan:3000 (or * for any)"
        )
    return text


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


def _read_token_file(
    path: Path, variable: str = "AGENT_BRUNO_REPORTER_TOKENS_FILE"
) -> dict[str, str]:
    """Node → token from a mounted Secret file (JSON object or `node=token,...`)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            f"{variable}={path}: cannot read it ({exc}); "
            "mount the Secret there or unset the variable"
        ) from exc
    return parse_token_map(raw, f"{variable}={path}")


def _zone_name_of(path: Path) -> str | None:
    """The IANA name in a path like `/usr/share/zoneinfo/Europe/Lisbon`, if it holds one."""
    parts = path.parts
    if "zoneinfo" not in parts:
        return None
    name = "/".join(parts[len(parts) - parts[::-1].index("zoneinfo") :])
    return name.removeprefix("posix/").removeprefix("right/") or None


def local_zone_name() -> str:
    """This machine's IANA time zone (`TZ`, `/etc/timezone`, `/etc/localtime`), else "UTC"."""
    candidates: list[str | None] = [os.environ.get("TZ", "").removeprefix(":") or None]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip() or None)
    with contextlib.suppress(OSError):
        candidates.append(_zone_name_of(Path("/etc/localtime").resolve(strict=True)))
    for name in candidates:
        if name is None:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"


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
    # Ingest: how far ahead of the agent's clock an item may be stamped (after correcting a
    # reporter's known offset), and the offset above which a reporter's clock is reported.
    max_future_s: float = Field(default=300.0, ge=0)
    clock_warn_s: float = Field(default=30.0, gt=0)
    # A reporter token files data only at its node's first place and in a bounded number of
    # series (agent_bruno/reporters.py).
    reporter_moves: Literal["refuse", "allow"] = "refuse"
    max_series_per_reporter: int = Field(default=2_000, ge=1)
    # Serving (agent_bruno/api/limits.py, api/server.py): agent runs at once (the rest wait
    # their turn), open /chat streams, questions per client per minute (burst: a quarter),
    # connections (all, per client IP) and how long a request's headers may take.
    agent_max_concurrent_runs: int = Field(default=4, ge=1)
    max_chat_streams: int = Field(default=256, ge=1)
    questions_per_client_per_min: float = Field(default=120.0, gt=0)
    max_connections: int = Field(default=2_048, ge=16)
    max_connections_per_client: int = Field(default=256, ge=1)
    header_timeout_s: float = Field(default=10.0, gt=0)
    rollup_retention_days: float = Field(default=365.0, gt=0)
    retention_interval_s: float = Field(default=600.0, gt=0)
    retention_batch_rows: int = Field(default=5_000, ge=1)
    # Thread memory (threads.db): threads idle this long, or beyond this many, are dropped; a
    # one-shot question's compact entry (what a follow-up needs) lives this long.
    threads_max_age_days: float = Field(default=30.0, gt=0)
    threads_max_count: int = Field(default=10_000, ge=1)
    one_shot_ttl_s: float = Field(default=86_400.0, gt=0)
    offline_after_intervals: float = Field(default=3.0, gt=0)
    cpu_warn_percent: float = 90.0
    memory_warn_percent: float = 90.0
    disk_warn_percent: float = 90.0
    soc_temp_warn_c: float = 75.0
    outbox_depth_warn: int = Field(default=50, ge=0)
    writer_max_batch: int = Field(default=256, ge=1)
    writer_queue_size: int = Field(default=10_000, ge=1)
    access_log: bool = False
    # The conversational agent (POST /query, /chat).
    ollama_url: str | None = None  # None: built-in language understanding, no model
    ollama_model: str = "qwen2.5:3b"
    ollama_timeout_s: float = Field(default=30.0, gt=0)
    forge_url: str | None = None  # None: no deep analysis by a large model
    forge_model: str = "qwen2.5:32b"
    forge_api: Literal["ollama", "openai"] = "ollama"
    forge_api_key: SecretStr | None = None
    forge_timeout_s: float = Field(default=120.0, gt=0)
    timezone: str = Field(default_factory=local_zone_name)
    reporter_read_tokens: Annotated[dict[str, SecretStr], NoDecode] = Field(default_factory=dict)
    reporter_read_tokens_file: Path | None = None
    query_max_chars: int = Field(default=2000, ge=1)
    sse_ping_s: float = Field(default=15.0, gt=0)
    # Alert subscriptions (agent_bruno/alerts): API principals, destinations, timers, Slack.
    api_principals: Annotated[dict[str, SecretStr], NoDecode] = Field(default_factory=dict)
    alert_allow_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    alert_default_kind: Literal["webhook", "slack", "pagerduty", "alertmanager"] = "webhook"
    alert_default_url: str | None = None
    alert_default_secret: SecretStr | None = None
    alert_group_wait_s: float = Field(default=30.0, ge=0, le=3600)
    alert_group_interval_s: float = Field(default=300.0, ge=1, le=86_400)
    alert_repeat_interval_s: float = Field(default=4 * 3600.0, ge=60, le=7 * 86_400)
    alert_max_per_owner: int = Field(default=2000, ge=1)
    public_url: str | None = None  # links back from notifications, e.g. https://bruno.lan
    slack_signing_secret: SecretStr | None = None
    # The knowledge graph: LadybugDB in data_dir by default, Neo4j 5 when neo4j_uri is set.
    graph_enabled: bool = True
    neo4j_uri: str | None = None
    neo4j_username: str = "neo4j"
    neo4j_password: SecretStr | None = None
    neo4j_database: str = "neo4j"
    # How long a graph transaction retries an unreachable Neo4j before the answer falls back.
    neo4j_retry_s: float = Field(default=5.0, ge=0, le=60)
    graph_flush_s: float = Field(default=5.0, gt=0)  # upkeep batches heartbeats and episodes
    graph_reconcile_s: float = Field(default=300.0, gt=0)  # and re-reads storage this often
    graph_query_timeout_s: float = Field(default=5.0, gt=0)  # generated (text-to-Cypher) queries
    graph_query_max_rows: int = Field(default=200, ge=1)
    # Origins whose pages may call the API from a browser (CORS); none by default: the chat at `/`
    # is served by the agent itself and needs none.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    _token_nodes: dict[str, str] = PrivateAttr(default_factory=dict)
    _read_tokens: dict[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, less the env-file one when no env file is named (`_env_file=`).

        Without a file it reads nothing, but still walks every field's annotation as the
        environment source does: half the cost of building settings (~2 ms a time)."""
        if isinstance(dotenv_settings, DotEnvSettingsSource) and dotenv_settings.env_file is None:
            return init_settings, env_settings, file_secret_settings
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @field_validator("reporter_tokens", "reporter_read_tokens", mode="before")
    @classmethod
    def _parse_tokens(cls, value: Any, info: ValidationInfo) -> Any:
        """Accept `node=token,...` or JSON text as well as a mapping."""
        if isinstance(value, str):
            return parse_token_map(value, f"AGENT_BRUNO_{str(info.field_name).upper()}")
        return value

    @field_validator("api_principals", mode="before")
    @classmethod
    def _parse_principals(cls, value: Any) -> Any:
        """Accept `name=token,...` or JSON text as well as a mapping."""
        if isinstance(value, str):
            return parse_token_map(value, "AGENT_BRUNO_API_PRINCIPALS")
        return value

    @field_validator("alert_allow_hosts", mode="before")
    @classmethod
    def _parse_hosts(cls, value: Any) -> Any:
        """Accept a comma-separated list of hosts, addresses and CIDR networks."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: Any) -> Any:
        """Accept a comma-separated list of origins (`https://grafana.lan:3000`) or `*`."""
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [check_origin(str(origin)) for origin in value]
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        """Refuse a name that is not an IANA time zone."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"AGENT_BRUNO_TIMEZONE={value!r} is not an IANA time zone; "
                'write e.g. "Europe/Lisbon", "America/New_York" or "UTC"'
            ) from None
        return value

    @field_validator("ollama_url", "forge_url", "alert_default_url", "public_url")
    @classmethod
    def _check_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        """An empty value means off; anything else must be an http(s) URL."""
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise SettingsError(
                f"AGENT_BRUNO_{str(info.field_name).upper()}={value!r} is not an http(s) URL; "
                "write e.g. http://127.0.0.1:11434, or leave it unset"
            )
        return value.strip().rstrip("/")

    @field_validator("neo4j_uri")
    @classmethod
    def _check_neo4j_uri(cls, value: str | None) -> str | None:
        """An empty value means the embedded graph; anything else must be a Bolt URI."""
        if value is None or not value.strip():
            return None
        scheme = value.strip().partition("://")[0]
        if scheme not in NEO4J_SCHEMES or "://" not in value:
            raise SettingsError(
                f"AGENT_BRUNO_NEO4J_URI={value!r} is not a Neo4j URI; write e.g. "
                "neo4j://neo4j.agent-bruno.svc:7687 or bolt://127.0.0.1:7687 "
                f"(schemes: {', '.join(NEO4J_SCHEMES)}), or leave it unset for the embedded graph"
            )
        return value.strip()

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
        reads = {node: t.get_secret_value() for node, t in self.reporter_read_tokens.items()}
        if self.reporter_read_tokens_file is not None:
            reads.update(
                _read_token_file(
                    self.reporter_read_tokens_file, "AGENT_BRUNO_REPORTER_READ_TOKENS_FILE"
                )
            )
        self._read_tokens = reads
        seen: dict[str, str] = {}
        for name, token in self.api_principals.items():
            secret = token.get_secret_value()
            _check_secret(f"AGENT_BRUNO_API_PRINCIPALS[{name}]", secret)
            if secret in seen or (self.api_token and secret == self.api_token.get_secret_value()):
                raise SettingsError(
                    f"AGENT_BRUNO_API_PRINCIPALS: {name!r} shares a token with another caller; "
                    "give every principal its own token"
                )
            seen[secret] = name
        if self.slack_signing_secret is not None:
            _check_secret(
                "AGENT_BRUNO_SLACK_SIGNING_SECRET", self.slack_signing_secret.get_secret_value()
            )
        if self.neo4j_uri is not None:
            if self.neo4j_password is None:
                raise SettingsError(
                    "AGENT_BRUNO_NEO4J_URI is set but AGENT_BRUNO_NEO4J_PASSWORD is not; "
                    "set the password of AGENT_BRUNO_NEO4J_USERNAME "
                    f"({self.neo4j_username!r}), or unset the URI for the embedded graph"
                )
            _check_secret("AGENT_BRUNO_NEO4J_PASSWORD", self.neo4j_password.get_secret_value())
        if self.api_token is not None:
            _check_secret("AGENT_BRUNO_API_TOKEN", self.api_token.get_secret_value())
        elif not is_loopback(self.host) and not self.api_principals:
            raise SettingsError(
                f"AGENT_BRUNO_HOST={self.host} is not a loopback address and "
                "AGENT_BRUNO_API_TOKEN is unset: the read API would be open to the network. "
                "Set AGENT_BRUNO_API_TOKEN, or bind 127.0.0.1"
            )
        return self

    def token_to_node(self) -> dict[str, str]:
        """Token → node for every reporter (variable and file), for `POST /v1/events`."""
        return dict(self._token_nodes)

    def read_tokens(self) -> dict[str, str]:
        """Node → token of each reporter's read endpoint (variable and file), for drill-down."""
        return dict(self._read_tokens)

    def principals(self) -> dict[str, str]:
        """Token → owner of every API caller: `api` for AGENT_BRUNO_API_TOKEN, else `api:<name>`."""
        out = {t.get_secret_value(): f"api:{name}" for name, t in self.api_principals.items()}
        if self.api_token is not None:
            out[self.api_token.get_secret_value()] = "api"
        return out

    @property
    def tzinfo(self) -> ZoneInfo:
        """The time zone questions and answers are in."""
        return ZoneInfo(self.timezone)

    @property
    def reads_open(self) -> bool:
        """Whether reads need no token (loopback bind without an API token: the demo)."""
        return self.api_token is None and not self.api_principals and is_loopback(self.host)

    @property
    def database_path(self) -> Path:
        """The SQLite database file inside the data directory."""
        return self.data_dir / "agent-bruno.db"

    @property
    def graph_path(self) -> Path:
        """The embedded knowledge graph (LadybugDB) inside the data directory."""
        return self.data_dir / "graph.lbdb"

    @property
    def threads_path(self) -> Path:
        """The agent's conversation checkpoints (follow-up questions by thread id)."""
        return self.data_dir / "threads.db"


class ClientSettings(BaseSettings):
    """What `agent-bruno ask` reads: where the agent is and the API token (no server settings)."""

    model_config = SettingsConfigDict(env_prefix="AGENT_BRUNO_", extra="ignore", frozen=True)

    url: str = "http://127.0.0.1:30120"
    api_token: SecretStr | None = None
