"""Which sentences the alert desk answers is the intent classifier's decision (issue 10): its
intents are declared as examples like every other, and questions about the data stay questions."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from agent_bruno.agent.nlu.intents import intents, training_vocabulary
from agent_bruno.agent.nlu.understand import intent_of
from agent_bruno.alerts.desk import ALERT_INTENTS, AlertDesk

NOW = 1_795_699_800.0
UTC = ZoneInfo("UTC")


def test_the_desk_answers_declared_intents() -> None:
    assert AlertDesk.intents == ALERT_INTENTS
    assert set(intents()) >= ALERT_INTENTS


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Alert me if humidity drops below 30%", "alert_subscribe"),
        ("page me on critical anomalies in warehouse-b", "alert_subscribe"),
        ("let me know when the office co2 is above 1200 ppm", "alert_subscribe"),
        ("what am I subscribed to?", "alert_list"),
        ("stop the humidity alert", "alert_snooze"),
        ("snooze it for 2 hours", "alert_snooze"),
        ("mute the co2 alert for 30 minutes", "alert_snooze"),
        ("change the co2 alert to 1200", "alert_change"),
        ("make the humidity alert 25% instead", "alert_change"),
    ],
)
def test_subscription_sentences_are_alert_intents(text: str, intent: str) -> None:
    assert intent_of(text, training_vocabulary(), NOW, UTC) == intent


@pytest.mark.parametrize(
    "text",
    [
        "Show me sensor anomalies in the last hour",
        "What's the temperature in the warehouse?",
        "Why is pi-node-3 under high load?",
        "did the humidity drop below 30% today?",
        "any alerts?",
        "which alerts fired in the last day",
    ],
)
def test_questions_about_the_data_are_not_the_desks(text: str) -> None:
    assert intent_of(text, training_vocabulary(), NOW, UTC) not in ALERT_INTENTS
