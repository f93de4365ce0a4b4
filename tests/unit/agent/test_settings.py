"""Settings: placeholder secrets and an open non-loopback read API are refused."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from agent_bruno.cli import load_settings
from agent_bruno.settings import Settings, parse_token_map

GOOD = "Zk3v9QeR2mT8xW1p"


@pytest.mark.parametrize(
    ("token", "needle"),
    [
        ("changeme", "placeholder"),
        ("secret", "placeholder"),
        ("changeme-please-now", "placeholder"),
        ("aaaaaaaaaaaaaaaaaaaa", "placeholder"),
        ("short-token", "11 characters"),
    ],
)
def test_placeholder_api_token_is_refused(token, needle):
    with pytest.raises(ValidationError) as info:
        Settings(api_token=token)
    message = str(info.value)
    assert "AGENT_BRUNO_API_TOKEN" in message
    assert needle in message


def test_placeholder_reporter_token_names_the_node():
    with pytest.raises(ValidationError) as info:
        Settings(reporter_tokens={"pi-node-3": "changeme"})
    assert "AGENT_BRUNO_REPORTER_TOKENS[pi-node-3]" in str(info.value)


def test_shared_reporter_tokens_are_refused():
    with pytest.raises(ValidationError, match="share a token"):
        Settings(reporter_tokens={"a": GOOD, "b": GOOD})


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "agent.local", "::"])  # noqa: S104
def test_non_loopback_without_api_token_is_refused(host):
    with pytest.raises(ValidationError) as info:
        Settings(host=host)
    message = str(info.value)
    assert f"AGENT_BRUNO_HOST={host}" in message
    assert "AGENT_BRUNO_API_TOKEN" in message


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_without_api_token_opens_reads(host):
    assert Settings(host=host).reads_open


def test_non_loopback_with_api_token_is_fine():
    settings = Settings(host="0.0.0.0", api_token=GOOD)  # noqa: S104
    assert not settings.reads_open


def test_environment_variables(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("AGENT_BRUNO_REPORTER_TOKENS", f"pi-node-1={GOOD}, pi-node-2={GOOD}x")
    monkeypatch.setenv("AGENT_BRUNO_API_TOKEN", GOOD + "api")
    monkeypatch.setenv("AGENT_BRUNO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AGENT_BRUNO_PORT", "31000")
    settings = Settings()
    assert settings.token_to_node() == {GOOD: "pi-node-1", GOOD + "x": "pi-node-2"}
    assert settings.port == 31000
    assert settings.database_path == tmp_path / "agent-bruno.db"


def test_a_named_env_file_is_read_under_the_environment(monkeypatch, tmp_path: Path):
    env = tmp_path / "agent.env"
    env.write_text(f"AGENT_BRUNO_PORT=31001\nAGENT_BRUNO_API_TOKEN={GOOD}env\n")
    monkeypatch.setenv("AGENT_BRUNO_PORT", "31002")
    settings = Settings(_env_file=env)  # type: ignore[call-arg]
    assert settings.port == 31002  # the environment wins over the file
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == GOOD + "env"
    assert Settings().api_token is None  # no file named: none read


def test_tokens_file_is_merged(tmp_path: Path):
    path = tmp_path / "tokens.json"
    path.write_text(f'{{"pi-node-2": "{GOOD}2"}}')
    settings = Settings(reporter_tokens={"pi-node-1": GOOD}, reporter_tokens_file=path)
    assert sorted(settings.token_to_node().values()) == ["pi-node-1", "pi-node-2"]


def test_missing_tokens_file_is_named(tmp_path: Path):
    with pytest.raises(ValidationError, match="AGENT_BRUNO_REPORTER_TOKENS_FILE"):
        Settings(reporter_tokens_file=tmp_path / "absent")


@pytest.mark.parametrize("raw", ["pi-node-1", "=tok", "a=b,broken", '{"a": 1}', "{bad json"])
def test_bad_token_map_is_named(raw):
    with pytest.raises(ValueError, match="AGENT_BRUNO_REPORTER_TOKENS"):
        parse_token_map(raw, "AGENT_BRUNO_REPORTER_TOKENS")


def test_cli_prints_the_refusal(monkeypatch, capsys):
    monkeypatch.setenv("AGENT_BRUNO_HOST", "0.0.0.0")  # noqa: S104
    monkeypatch.delenv("AGENT_BRUNO_API_TOKEN", raising=False)
    assert load_settings() is None
    err = capsys.readouterr().err
    assert "AGENT_BRUNO_HOST=0.0.0.0 is not a loopback address" in err


def test_agent_defaults_run_without_a_model(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    assert settings.ollama_url is None
    assert settings.forge_url is None
    assert (settings.ollama_model, settings.forge_model) == ("qwen2.5:3b", "qwen2.5:32b")
    assert settings.threads_path == tmp_path / "threads.db"
    assert settings.tzinfo.key == settings.timezone


def test_agent_environment_variables(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("AGENT_BRUNO_OLLAMA_URL", "http://127.0.0.1:11434/")
    monkeypatch.setenv("AGENT_BRUNO_FORGE_URL", "https://forge.lan/v1")
    monkeypatch.setenv("AGENT_BRUNO_FORGE_API", "openai")
    monkeypatch.setenv("AGENT_BRUNO_FORGE_API_KEY", GOOD)
    monkeypatch.setenv("AGENT_BRUNO_TIMEZONE", "Europe/Lisbon")
    monkeypatch.setenv("AGENT_BRUNO_REPORTER_READ_TOKENS", f"pi-node-1={GOOD}")
    path = tmp_path / "read-tokens"
    path.write_text(f"pi-node-2={GOOD}2")
    monkeypatch.setenv("AGENT_BRUNO_REPORTER_READ_TOKENS_FILE", str(path))
    monkeypatch.setenv("AGENT_BRUNO_SSE_PING_S", "2.5")
    settings = Settings()
    assert settings.ollama_url == "http://127.0.0.1:11434"
    assert (settings.forge_url, settings.forge_api) == ("https://forge.lan/v1", "openai")
    assert settings.timezone == "Europe/Lisbon"
    assert settings.read_tokens() == {"pi-node-1": GOOD, "pi-node-2": GOOD + "2"}
    assert settings.sse_ping_s == 2.5


def test_an_empty_model_url_means_no_model(monkeypatch):
    monkeypatch.setenv("AGENT_BRUNO_OLLAMA_URL", "")
    assert Settings().ollama_url is None


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("timezone", "Mars/Olympus_Mons", "AGENT_BRUNO_TIMEZONE='Mars/Olympus_Mons'"),
        ("ollama_url", "localhost:11434", "AGENT_BRUNO_OLLAMA_URL='localhost:11434'"),
        ("reporter_read_tokens", "pi-node-1", "AGENT_BRUNO_REPORTER_READ_TOKENS"),
        ("forge_api", "grpc", "forge_api"),
    ],
)
def test_bad_agent_settings_name_the_value(field, value, needle):
    with pytest.raises(ValidationError) as info:
        Settings(**{field: value})
    assert needle in str(info.value)


def test_unreadable_read_tokens_file_names_the_variable(tmp_path: Path):
    with pytest.raises(ValidationError, match="AGENT_BRUNO_REPORTER_READ_TOKENS_FILE="):
        Settings(reporter_read_tokens_file=tmp_path / "missing")


@pytest.mark.parametrize(
    ("tz", "expected"), [(":Asia/Tokyo", "Asia/Tokyo"), ("Not/AZone", None), ("", None)]
)
def test_default_timezone_follows_the_machine(monkeypatch, tz, expected):
    monkeypatch.setenv("TZ", tz)
    monkeypatch.delenv("AGENT_BRUNO_TIMEZONE", raising=False)
    zone = Settings().timezone
    if expected is not None:
        assert zone == expected
    else:  # falls through to /etc/timezone, /etc/localtime, then UTC: always a real zone
        assert ZoneInfo(zone)
