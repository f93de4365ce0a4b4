"""The `agent-bruno` command line."""

from __future__ import annotations

import pytest

from agent_bruno.cli import build_parser, main


def test_serve_is_a_subcommand():
    parser, commands = build_parser()
    assert set(commands) == {"serve", "ask", "graph"}
    args = parser.parse_args(["serve", "--log-level", "warning"])
    assert args.command == "serve"
    assert args.log_level == "warning"


def test_a_subcommand_is_required(capsys):
    with pytest.raises(SystemExit):
        main([])
    assert "serve" in capsys.readouterr().err


def test_serve_refuses_bad_settings(monkeypatch, capsys):
    monkeypatch.setenv("AGENT_BRUNO_API_TOKEN", "changeme")
    assert main(["serve"]) == 2
    assert "AGENT_BRUNO_API_TOKEN looks like a placeholder" in capsys.readouterr().err
