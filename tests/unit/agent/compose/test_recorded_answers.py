"""The answers the eval world gets, word for word, from their recorded plans and tool results.

`answers.json` holds a cover of the built-in answers to every eval and held-out question over the
seeded world (`python -m scripts.record_answers`): each branch of the answer writers that any of
them takes is taken by up to three. Replaying a plan and its tool results must give the same
words, numbers, units and time phrases; a writer change shows up as the answers it changes, to be
read and then recorded again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent_bruno.agent.compose import compose, records_from_dicts
from agent_bruno.agent.graph import _plan_from_dict

RECORDED: list[dict[str, Any]] = json.loads(
    Path(__file__).with_name("answers.json").read_text(encoding="utf-8")
)


@pytest.mark.parametrize(
    "item", RECORDED, ids=[f"{i:03d}-{r['plan']['intent']}" for i, r in enumerate(RECORDED)]
)
def test_the_recorded_answer_is_composed_again(item):
    plan = _plan_from_dict(item["plan"])
    calls = records_from_dicts(item["calls"])
    answer = compose(plan, calls, item["now"], ZoneInfo(item["tz"]))
    assert answer == item["answer"], item["question"]


def test_the_recording_covers_every_answer_shape():
    shapes = {r["plan"]["intent"] for r in RECORDED}
    assert {"current", "stats", "series", "rank", "compare", "compare_time", "anomalies",
            "health", "workloads", "overview", "diagnosis", "count", "unit_info", "unknown",
            "multi", "incident_history"} <= shapes  # fmt: skip
