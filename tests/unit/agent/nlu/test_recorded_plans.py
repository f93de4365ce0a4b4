"""The eval questions (gated, held out and the extra ones; a cover taking every branch of the
understanding up to three times) understood as when they were recorded:
the same intent, the same tool calls with the same arguments (places, metrics, time ranges,
units), the same focus for the next turn and the same hints for the answer. The plans were
recorded from the real agent over the eval world with every gated answer right
(`python -m scripts.record_plans`); a change shows as the questions it changes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.agent.nlu.plan import plan_dict
from agent_bruno.agent.nlu.understand import understand
from agent_bruno.agent.nlu.vocabulary import Vocabulary

RECORDED = json.loads((Path(__file__).with_name("plans.json")).read_text(encoding="utf-8"))
WORDS = RECORDED["vocabulary"]
VOCAB = Vocabulary(
    **{k: tuple(v) if isinstance(v, list) else v for k, v in WORDS.items()}  # type: ignore[arg-type]
)
TURNS: list[dict[str, Any]] = RECORDED["turns"]


def test_the_recording_covers_every_kind_of_question():
    intents = {t["plan"]["intent"] for t in TURNS}
    assert len(TURNS) > 100
    assert {"current", "stats", "series", "rank", "compare", "anomalies", "health", "count",
            "overview", "diagnosis", "multi", "help", "control"} <= intents  # fmt: skip
    assert any(t["focus"] for t in TURNS)  # follow-ups, read over the previous turn's focus


def _name(i: int, turn: dict[str, Any]) -> str:
    """A test id pytest's command line takes back (mutmut selects tests by id)."""
    return f"{i}-" + re.sub(r"[^a-z0-9]+", "-", turn["question"].lower())[:40].strip("-")


@pytest.mark.parametrize("turn", TURNS, ids=[_name(i, t) for i, t in enumerate(TURNS)])
def test_a_recorded_question_gets_the_same_plan(turn: dict[str, Any]) -> None:
    plan = understand(
        turn["question"], turn["focus"], VOCAB, turn["now"], ZoneInfo(turn["tz"]),
        forge=turn["forge"],
    )  # fmt: skip
    got = json.loads(json.dumps(plan_dict(plan), ensure_ascii=False))
    want = turn["plan"]
    assert got["intent"] == want["intent"]
    assert got["calls"] == want["calls"]
    assert got["hints"] == want["hints"]
    assert got["focus"] == want["focus"]
