"""Sentences to rules: what is understood, what is asked, what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from agent_bruno.agent.nlu.vocabulary import Vocabulary
from agent_bruno.alerts.commands import command
from agent_bruno.alerts.parse import understand

VOCAB = Vocabulary(
    locations=("server-room", "warehouse", "warehouse-b"),
    nodes=("pi-node-1", "pi-node-2", "pi-node-3"),
    sensors=("bmp280-1", "dht22-1", "mhz19-1", "node"),
    metrics=("co2", "cpu_percent", "humidity", "pressure", "temperature"),
    node_location={
        "pi-node-1": "warehouse",
        "pi-node-2": "warehouse-b",
        "pi-node-3": "server-room",
    },
    units={
        "temperature": "°C",
        "humidity": "%",
        "co2": "ppm",
        "pressure": "hPa",
        "cpu_percent": "%",
    },
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Alert me if humidity drops below 30%",
         {"kind": "threshold", "metric": "humidity", "op": "below", "value": 30.0, "hold_s": 0.0,
          "hysteresis": 2.0, "unit": "%"}),
        ("alert me if humidity is below 30% for 10 minutes",
         {"kind": "threshold", "hold_s": 600.0}),
        ("notify me when co2 in the server room exceeds 1200 ppm",
         {"kind": "threshold", "metric": "co2", "op": "above", "value": 1200.0,
          "scope": {"cluster": None, "location": "server-room", "node": None, "sensor": None}}),
        ("tell me if the warehouse temperature goes above 80 F",
         {"kind": "threshold", "metric": "temperature", "value": 26.67, "unit": "°C"}),
        ("page me on critical anomalies in warehouse-b",
         {"kind": "episode", "min_severity": "critical",
          "scope": {"cluster": None, "location": "warehouse-b", "node": None, "sensor": None}}),
        ("warn me about sensor faults", {"kind": "episode", "episode_kind": "sensor_fault",
                                         "min_severity": "warning"}),
        ("alert me if the server room warms by more than 3 °C in 10 minutes",
         {"kind": "rate", "metric": "temperature", "direction": "rise", "delta": 3.0,
          "window_s": 600.0}),
        ("let me know when pi-node-2 goes offline", {"kind": "node", "condition": "offline"}),
        ("tell me if any node becomes unhealthy", {"kind": "node", "condition": "unhealthy"}),
        ("alert me if a sensor goes silent for 30 minutes", {"kind": "silent", "after_s": 1800.0}),
    ],
)  # fmt: skip
def test_understood(text: str, expected: dict[str, Any]) -> None:
    got = understand(text, VOCAB)
    assert got.rule is not None, got
    data = got.rule.model_dump(mode="json")
    assert {k: data[k] for k in expected} == expected


def test_the_rule_is_echoed_in_words_with_its_inferences() -> None:
    got = understand("Alert me if humidity drops below 30%", VOCAB)
    assert got.words() == "humidity below 30%; resolves once back above 32%"
    assert any("hovering" in n for n in got.notes)


def test_page_names_pagerduty_and_critical() -> None:
    got = understand("page me if co2 goes above 1500", VOCAB)
    assert got.channel == "pagerduty"
    assert got.rule is not None
    assert got.rule.severity == "critical"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("alert me if it goes below 30", "of what?"),
        ("alert me when humidity changes", "What should humidity do"),
        ("alert me about humidity and temperature above 30", "One rule watches one metric"),
    ],
)
def test_questions(text: str, says: str) -> None:
    got = understand(text, VOCAB)
    assert got.rule is None
    assert got.question is not None
    assert says in got.question


@pytest.mark.parametrize(
    ("text", "says"),
    [
        # Regression: an unknown place must not silently widen the rule to every location.
        ("alert me if the garage temperature is above 30", "'garage'"),
        ("alert me if humidity in the attic drops below 30", "'attic'"),
        ("text me by sms if co2 goes above 1000", "Slack, PagerDuty, a webhook"),
        ("alert me please", "I can alert on"),
    ],
)
def test_refusals(text: str, says: str) -> None:
    got = understand(text, VOCAB)
    assert got.rule is None
    assert got.refusal is not None
    assert says in got.refusal


@pytest.mark.parametrize(
    ("text", "cmd", "target", "seconds", "value"),
    [
        ("what am I subscribed to?", "list", "", None, None),
        ("stop the humidity alert", "stop", "humidity", None, None),
        ("snooze it for 2 hours", "snooze", "", 7200.0, None),
        ("mute the co2 alert for 30 minutes", "snooze", "co2", 1800.0, None),
        ("make it 25% instead", "change", "", None, 25.0),
        ("make the humidity alert 25% instead", "change", "humidity", None, 25.0),
        ("change the co2 alert to 1200", "change", "co2", None, 1200.0),
        ("how often would 28% have fired last week?", "backtest", "", None, 28.0),
        ("pause the co2 alert", "pause", "co2", None, None),
        ("resume it", "resume", "", None, None),
    ],
)
def test_commands(
    text: str, cmd: str, target: str, seconds: float | None, value: float | None
) -> None:
    got = command(text)
    assert got is not None
    assert (got.command, got.target, got.seconds, got.value) == (cmd, target, seconds, value)


@pytest.mark.parametrize(
    "text",
    [
        "Alert me if humidity drops below 30%",
        "page me on critical anomalies in warehouse-b",
        "Show me sensor anomalies in the last hour",
        "What's the temperature in the warehouse?",
        "Why is pi-node-3 under high load?",
    ],
)
def test_new_rules_and_questions_are_not_commands(text: str) -> None:
    # Which of them are subscriptions is the intent classifier's call (tests/unit/alerts/
    # test_desk_intents.py); none manages an existing one.
    assert command(text) is None
