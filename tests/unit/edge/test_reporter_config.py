"""ReporterConfig: every wrong or missing variable is named with its value."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_reporter.config import ConfigError, ReporterConfig, SensorEntry
from edge_reporter.sensors.faults import FaultKind

ANY_ADDRESS = "0.0.0.0"  # noqa: S104
TOKEN = "k3Yq9-tW7xZ2pL0vR5mN"
BASE = {
    "STUDIO_AGENT_URL": "http://agent-bruno:30120/",
    "AGENT_TOKEN": TOKEN,
    "NODE_NAME": "pi-node-1",
    "LOCATION": "warehouse",
}


def parse(**extra: str) -> ReporterConfig:
    return ReporterConfig.from_env({**BASE, **extra})


def test_defaults() -> None:
    cfg = parse()
    assert cfg.agent_url == "http://agent-bruno:30120"
    assert cfg.events_url == "http://agent-bruno:30120/v1/events"
    assert cfg.cluster == "homelab"
    assert (cfg.report_interval, cfg.aggregate_interval) == (60.0, 300.0)
    assert cfg.raw_retention_days == 7.0
    assert cfg.read_api_port == 9108
    assert cfg.read_api_bind == "127.0.0.1"
    assert cfg.sensors == (SensorEntry("node", "node"),)
    assert not cfg.explain_enabled


def test_full_configuration() -> None:
    cfg = parse(
        SENSORS="sim-dht22:dht22-1, sim-co2:mhz19-1,node",
        FAULTS="dht22-1/temperature:spike@120:+15,mhz19-1/co2:stuck@1h:for30m",
        REPORT_INTERVAL="0.5",
        AGGREGATE_INTERVAL="5",
        DATA_DIR="/tmp/er",
        READ_API_TOKEN="r" + TOKEN,
        WORKLOADS="edge-reporter, mosquitto",
        OLLAMA_URL="http://ollama:11434",
        OLLAMA_MODEL="qwen2.5:0.5b",
        SEED="42",
    )
    assert cfg.sensors[1] == SensorEntry("sim-co2", "mhz19-1")
    assert [f.kind for f in cfg.faults] == [FaultKind.SPIKE, FaultKind.STUCK]
    assert cfg.faults[1].duration == 1800
    assert cfg.read_api_bind == ANY_ADDRESS
    assert cfg.data_dir == Path("/tmp/er")
    assert cfg.workloads == ("edge-reporter", "mosquitto")
    assert cfg.explain_enabled
    assert cfg.seed == 42


@pytest.mark.parametrize("name", ["STUDIO_AGENT_URL", "AGENT_TOKEN", "NODE_NAME", "LOCATION"])
def test_missing_required_variable_is_named(name: str) -> None:
    env = {k: v for k, v in BASE.items() if k != name}
    with pytest.raises(ConfigError, match=f"^{name} is not set"):
        ReporterConfig.from_env(env)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("STUDIO_AGENT_URL", "agent-bruno:30120", "http:// or https://"),
        ("STUDIO_AGENT_URL", "ftp://agent", "http:// or https://"),
        ("AGENT_TOKEN", "changeme", "placeholder"),
        ("AGENT_TOKEN", "xxxxxxxxxxxxxxxxxxxx", "placeholder"),
        ("AGENT_TOKEN", "short-t0ken", "at least 16"),
        ("NODE_NAME", "pi node", "letters, digits"),
        ("REPORT_INTERVAL", "soon", "a number"),
        ("REPORT_INTERVAL", "-1", "a number"),
        ("AGGREGATE_INTERVAL", "nan", "a number"),
        ("RAW_RETENTION_DAYS", "0", "a number"),
        ("RAW_MAX_MB", "lots", "a number"),
        ("OUTBOX_MAX_EVENTS", "10.5", "whole number"),
        ("OUTBOX_MAX_EVENTS", "5", "whole number"),
        ("READ_API_PORT", "70000", "whole number"),
        ("SENSORS", "sim-dht22:a,thermo:b", "unknown kind 'thermo'"),
        ("SENSORS", "sim-dht22:a,sim-co2:a", "used twice"),
        ("SENSORS", "sim-dht22:bad name", "sensor name"),
        ("FAULTS", "dht22-1/temperature:zap@1:+1", "zap"),
        ("FAULTS", "nosuch/temperature:spike@1:+1", "names no simulated sensor"),
        ("SEED", "abc", "whole number"),
        ("LOG_LEVEL", "loud", "DEBUG, INFO"),
        ("EXPLAIN_PROMPT", "/nonexistent/prompt.md", "existing prompt"),
    ],
)
def test_invalid_value_is_named(name: str, value: str, expected: str) -> None:
    env = {"SENSORS": "sim-dht22:dht22-1"} if name == "FAULTS" else {}
    with pytest.raises(ConfigError) as info:
        parse(**{**env, name: value})
    message = str(info.value)
    assert name in message
    assert expected in message
    if name != "AGENT_TOKEN":  # secrets are not echoed in full
        assert value.split(",")[-1].split(":")[0] in message


def test_placeholder_token_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        parse(AGENT_TOKEN="please-changeme-now")
    assert "please-changeme-now" not in str(info.value)


def test_aggregate_interval_shorter_than_report_interval() -> None:
    with pytest.raises(ConfigError, match=r"AGGREGATE_INTERVAL='30'.*REPORT_INTERVAL"):
        parse(AGGREGATE_INTERVAL="30")


def test_fault_on_unknown_metric() -> None:
    with pytest.raises(ConfigError, match=r"'dht22-1/co2'.*no metric 'co2'"):
        parse(SENSORS="sim-dht22:dht22-1", FAULTS="dht22-1/co2:spike@1:+1")


def test_read_api_on_public_address_needs_a_token() -> None:
    with pytest.raises(ConfigError, match=r"READ_API_BIND='0\.0\.0\.0'.*READ_API_TOKEN"):
        parse(READ_API_BIND=ANY_ADDRESS)
    assert parse(READ_API_BIND=ANY_ADDRESS, READ_API_PORT="0").read_api_port == 0


def test_ollama_needs_url_and_model() -> None:
    with pytest.raises(ConfigError, match="OLLAMA_MODEL is not set"):
        parse(OLLAMA_URL="http://ollama:11434")
    with pytest.raises(ConfigError, match="OLLAMA_URL is not set"):
        parse(OLLAMA_MODEL="qwen2.5:0.5b")


def test_seed_defaults_to_a_stable_value_per_node() -> None:
    assert parse().seed == parse().seed
    assert parse().seed != parse(NODE_NAME="pi-node-2").seed


def test_token_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "pi-node-1"
    secret.write_text(TOKEN + "\n")
    env = {k: v for k, v in BASE.items() if k != "AGENT_TOKEN"}
    assert ReporterConfig.from_env({**env, "AGENT_TOKEN_FILE": str(secret)}).agent_token == TOKEN
    with pytest.raises(ConfigError, match="AGENT_TOKEN_FILE='/nonexistent/pi-node-1'"):
        ReporterConfig.from_env({**env, "AGENT_TOKEN_FILE": "/nonexistent/pi-node-1"})
    with pytest.raises(ConfigError, match="both set"):
        ReporterConfig.from_env({**BASE, "AGENT_TOKEN_FILE": str(secret)})
    secret.write_text("changeme")
    with pytest.raises(ConfigError, match="placeholder"):
        ReporterConfig.from_env({**env, "AGENT_TOKEN_FILE": str(secret)})


def test_location_from_a_file(tmp_path: Path) -> None:
    """A DaemonSet reads each Pi's location from a ConfigMap key named after the node."""
    where = tmp_path / "pi-node-1"
    where.write_text("server-room\n")
    env = {k: v for k, v in BASE.items() if k != "LOCATION"}
    assert ReporterConfig.from_env({**env, "LOCATION_FILE": str(where)}).location == "server-room"
    with pytest.raises(ConfigError, match="LOCATION_FILE='/nonexistent/pi-node-1'"):
        ReporterConfig.from_env({**env, "LOCATION_FILE": "/nonexistent/pi-node-1"})
    where.write_text("server room")
    with pytest.raises(ConfigError, match=r"LOCATION_FILE \(.*\)='server room'"):
        ReporterConfig.from_env({**env, "LOCATION_FILE": str(where)})
    with pytest.raises(ConfigError, match=r"LOCATION is not set: .*\(or LOCATION_FILE\)"):
        ReporterConfig.from_env(env)
