"""Two slots whose words are easy to misread: how many of a ranking a question asks for
("top 3", "the two warmest", "a couple of"), and the severity a question keeps when it names
one only to leave it out ("not critical", "non-critical", "excluding warnings")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent_bruno.agent.nlu.intents import training_vocabulary
from agent_bruno.agent.nlu.lexicon import lexicon
from agent_bruno.agent.nlu.slots import read_slots

NOW = datetime(2026, 11, 30, 16, 5, tzinfo=UTC).timestamp()


@pytest.fixture(autouse=True, scope="module")
def fresh_lexicon():
    """The lexicon built again from its file for these tests: its patterns are made once per
    process, so a change to how they are made is otherwise never seen here."""
    lexicon.cache_clear()
    yield
    lexicon.cache_clear()


def slots(text: str):
    return read_slots(text, training_vocabulary(), NOW, UTC)


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("top 3 warmest rooms", 3),
        ("the two warmest rooms", 2),
        ("which 5 nodes are busiest", 5),
        ("show me 12 hottest sensors", 12),
        ("a couple of most humid rooms", 2),
        ("A  Pair  Of coldest rooms", 2),
        ("TOP THREE rooms", 3),
        ("first ten nodes", 10),
        ("bottom one room", 1),
        ("which two are warmest", 2),
        ("2 busiest nodes", 2),
        ("top 3", 3),
        ("top 3?", 3),
        ("top 99 rooms", 99),
        # not a ranking's count: a fraction, zero, three digits, a joined word, two numbers
        ("top 3.5 rooms", None),
        ("top 0 rooms", None),
        ("top 100 rooms", None),
        ("top-3 rooms", None),
        ("2 busiest-ish nodes", None),
        ("top 3 9", None),
        ("what is the temperature in the office", None),
    ],
)
def test_how_many_of_a_ranking_a_question_asks_for(text: str, limit: int | None):
    assert slots(text).limit == limit


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("any critical alerts", "critical"),
        ("only the criticals", "critical"),
        ("critical and warning anomalies", None),
        ("alerts that are not critical", "warning"),
        ("non-critical alerts", "warning"),
        ("non critical alerts", "warning"),
        ("not-critical alerts", "warning"),
        ("anomalies that aren't critical", "warning"),
        ("anomalies other than the critical ones", "warning"),
        ("warnings but not criticals", "warning"),
        ("excluding warnings", "critical"),
        ("anomalies except for warnings", "critical"),
        ("anything but   warnings", "critical"),
        ("alerts not   counting warnings", "critical"),
        ("don't count warnings", "critical"),
        # "non" inside a word is no negation
        ("nonexistent critical anomalies", "critical"),
    ],
)
def test_the_severity_kept_when_one_is_named_to_leave_it_out(text: str, severity: str | None):
    assert slots(text).severity == severity
