"""`ReporterConfig` from environment variables (the only module that reads them).

A plain frozen dataclass: pydantic would cost ~14 MiB of the reporter's 48 MiB budget.
Every wrong or missing value raises `ConfigError` naming the variable, the value and what
was expected.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from edge_reporter.auth_policy import is_loopback, secret_problem
from edge_reporter.envparse import ConfigError
from edge_reporter.envparse import checked_name as _name
from edge_reporter.envparse import err as _err
from edge_reporter.envparse import get as _get
from edge_reporter.envparse import integer as _integer
from edge_reporter.envparse import number as _number
from edge_reporter.envparse import required as _required
from edge_reporter.envparse import value_or_file as _value_or_file
from edge_reporter.sensor_config import (
    SENSORS_SYNTAX,
    MqttConfig,
    SensorEntry,
    check_faults,
    parse_mqtt,
    parse_sensors,
)
from edge_reporter.sensors.faults import FaultSpec
from edge_reporter.workloads import parse_workloads

__all__ = ["SENSORS_SYNTAX", "ConfigError", "MqttConfig", "ReporterConfig", "SensorEntry"]


@dataclass(frozen=True, slots=True)
class ReporterConfig:
    """Everything the reporter is configured with."""

    agent_url: str
    agent_token: str
    node: str
    location: str
    cluster: str = "homelab"
    report_interval: float = 60.0
    aggregate_interval: float = 300.0
    sensors: tuple[SensorEntry, ...] = (SensorEntry("node", "node"),)
    faults: tuple[FaultSpec, ...] = ()
    data_dir: Path = Path("/var/lib/edge-reporter")
    raw_retention_days: float = 7.0
    raw_max_mb: float = 256.0
    outbox_max_events: int = 50_000
    read_api_bind: str = "127.0.0.1"
    read_api_port: int = 9108
    read_api_token: str | None = None
    read_api_url: str | None = None
    workloads: tuple[str, ...] = ()  # `name[@namespace][=cpu%]`; empty: pods, else processes
    kubernetes_api: tuple[str, str] | None = None  # in-cluster API server (host, port)
    ollama_url: str | None = None
    ollama_model: str | None = None
    explain_prompt: Path | None = None
    explain_per_hour: int = 6
    seed: int = 0
    log_level: str = "INFO"
    mqtt: MqttConfig | None = None

    @property
    def explain_enabled(self) -> bool:
        """Whether flagged readings are explained by a model."""
        return self.ollama_url is not None and self.ollama_model is not None

    @property
    def events_url(self) -> str:
        """Where events are posted."""
        return f"{self.agent_url}/v1/events"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReporterConfig:
        """Parse the configuration from `env` (default: the process environment)."""
        return _parse(os.environ if env is None else env)


def _url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _err(name, value, "an http:// or https:// URL, e.g. http://agent-bruno:30120")
    return value.rstrip("/")


def _token(name: str, value: str) -> str:
    problem = secret_problem(value)
    if problem is not None:
        raise ConfigError(f"{name} {problem}")
    return value


def _agent_token(env: Mapping[str, str]) -> str:
    """AGENT_TOKEN, or the content of AGENT_TOKEN_FILE."""
    value, source = _value_or_file(env, "AGENT_TOKEN", "this reporter's bearer token")
    return _token(source, value)


def _sensors_value(env: Mapping[str, str]) -> str:
    """SENSORS, or SENSORS_FILE: each Pi has its own sensors, from a ConfigMap key per node."""
    if _get(env, "SENSORS") is None and _get(env, "SENSORS_FILE") is None:
        return "node"
    return _value_or_file(env, "SENSORS", "KIND:NAME,... e.g. dht22:porch,node")[0]


def _parse(env: Mapping[str, str]) -> ReporterConfig:
    url = _url("STUDIO_AGENT_URL", _required(env, "STUDIO_AGENT_URL", "the agent's URL"))
    token = _agent_token(env)
    node = _name("NODE_NAME", _required(env, "NODE_NAME", "this node's name (downward API)"))
    if len(node) > 100:  # event ids are `{node}:{instance}:{seq}`, at most 128 characters
        raise _err("NODE_NAME", node, "at most 100 characters (it is part of every event id)")
    location = _name(
        *reversed(_value_or_file(env, "LOCATION", "where the node is, e.g. warehouse"))
    )
    cluster = _name("CLUSTER", _get(env, "CLUSTER") or "homelab")
    report = _number(env, "REPORT_INTERVAL", 60.0, minimum=0.05)
    aggregate = _number(env, "AGGREGATE_INTERVAL", 300.0, minimum=0.05)
    if aggregate < report:
        raise _err(
            "AGGREGATE_INTERVAL",
            str(env.get("AGGREGATE_INTERVAL", "300")),
            f"at least REPORT_INTERVAL ({report:g} s)",
        )
    sensors = parse_sensors(_sensors_value(env))
    faults = check_faults(_get(env, "FAULTS") or "", sensors)
    port = _integer(env, "READ_API_PORT", 9108, lo=0, hi=65535)
    read_token_raw = _get(env, "READ_API_TOKEN")
    read_token = None if read_token_raw is None else _token("READ_API_TOKEN", read_token_raw)
    bind = _get(env, "READ_API_BIND") or ("0.0.0.0" if read_token else "127.0.0.1")  # noqa: S104
    if port and read_token is None and not is_loopback(bind):
        raise ConfigError(
            f"READ_API_BIND={bind!r} is not a loopback address, so READ_API_TOKEN is required; "
            "set it, bind 127.0.0.1, or disable the read API with READ_API_PORT=0"
        )
    read_url = _get(env, "READ_API_URL")
    if read_url is not None:
        read_url = _url("READ_API_URL", read_url)
    ollama_url = _get(env, "OLLAMA_URL")
    ollama_model = _get(env, "OLLAMA_MODEL")
    if (ollama_url is None) != (ollama_model is None):
        missing = "OLLAMA_MODEL" if ollama_model is None else "OLLAMA_URL"
        raise ConfigError(
            f"{missing} is not set: expected both OLLAMA_URL and OLLAMA_MODEL "
            "(e.g. http://ollama:11434 and qwen2.5:0.5b), or neither to turn explanations off"
        )
    if ollama_url is not None:
        ollama_url = _url("OLLAMA_URL", ollama_url)
    prompt = _get(env, "EXPLAIN_PROMPT")
    if prompt is not None and not Path(prompt).is_file():
        raise _err("EXPLAIN_PROMPT", prompt, "the path of an existing prompt template file")
    seed_raw = _get(env, "SEED")
    seed = (
        zlib.crc32(node.encode())
        if seed_raw is None
        else _integer(env, "SEED", 0, lo=0, hi=2**63 - 1)
    )
    level_raw = _get(env, "LOG_LEVEL") or "INFO"
    level = level_raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise _err("LOG_LEVEL", level_raw, "DEBUG, INFO, WARNING or ERROR")
    workloads = tuple(w.strip() for w in (_get(env, "WORKLOADS") or "").split(",") if w.strip())
    try:
        parse_workloads(",".join(workloads))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    k8s_host = _get(env, "KUBERNETES_SERVICE_HOST")
    return ReporterConfig(
        agent_url=url,
        agent_token=token,
        node=node,
        location=location,
        cluster=cluster,
        report_interval=report,
        aggregate_interval=aggregate,
        sensors=sensors,
        faults=faults,
        data_dir=Path(_get(env, "DATA_DIR") or "/var/lib/edge-reporter"),
        raw_retention_days=_number(env, "RAW_RETENTION_DAYS", 7.0, minimum=0.01),
        raw_max_mb=_number(env, "RAW_MAX_MB", 256.0, minimum=1.0),
        outbox_max_events=_integer(env, "OUTBOX_MAX_EVENTS", 50_000, lo=100, hi=10_000_000),
        read_api_bind=bind,
        read_api_port=port,
        read_api_token=read_token,
        read_api_url=read_url,
        workloads=workloads,
        kubernetes_api=(k8s_host, _get(env, "KUBERNETES_SERVICE_PORT") or "443")
        if k8s_host
        else None,
        ollama_url=ollama_url,
        ollama_model=ollama_model,
        explain_prompt=None if prompt is None else Path(prompt),
        explain_per_hour=_integer(env, "EXPLAIN_MAX_PER_HOUR", 6, lo=0, hi=3600),
        seed=seed,
        log_level=level,
        mqtt=parse_mqtt(env, sensors, node),
    )
