"""Two slots whose words are easy to misread: how many of a ranking a question asks for
("top 3", "the two warmest", "a couple of"), and the severity a question keeps when it names
one only to leave it out ("not critical", "non-critical", "excluding warnings")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from agent_bruno.agent.nlu import lexicon as lexicon_module
from agent_bruno.agent.nlu.intents import training_vocabulary
from agent_bruno.agent.nlu.lexicon import LEXICON_PATH, LexiconError, lexicon, load_yaml
from agent_bruno.agent.nlu.slots import read_slots

NOW = datetime(2026, 11, 30, 16, 5, tzinfo=UTC).timestamp()


@pytest.fixture(autouse=True)
def fresh_lexicon():
    """The lexicon built again from its file for each of these tests (8 ms): its patterns are
    made once per process, so a change to how they are made is otherwise seen by one test at
    most."""
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
        # both left out: neither is kept
        ("not critical and not warning alerts", None),
        ("NOT critical alerts", "warning"),
        ("CRITICAL alerts", "critical"),
    ],
)
def test_the_severity_kept_when_one_is_named_to_leave_it_out(text: str, severity: str | None):
    assert slots(text).severity == severity


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("and the day before?", 1),
        ("and the day   before?", 1),
        ("And The Week Before", 7),
        ("and the week prior?", 7),
        ("and the day after?", None),
    ],
)
def test_a_follow_up_moving_the_range_back(text: str, days: int | None):
    shift = slots(text).shift
    assert (None if shift is None else shift / 86400) == days


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("count_words", ["one", "two"], "`count_words` must map words to counts above 0"),
        ("count_words", {"one": 1, "none": 0}, "`count_words` must map words to counts above 0"),
        ("count_words", {"one": 1, "half": 2.5}, "`count_words` must map words to counts above 0"),
        ("limit_lead", "top", "`limit_lead` must be a list of patterns"),
        ("limit_lead", ["top", 3], "`limit_lead` must be a list of patterns"),
        ("negations", "not", "`negations` must be a list of patterns"),
        ("negations", ["not", None], "`negations` must be a list of patterns"),
        ("not_places", ["the", "a"], "`not_places` must be a text of words"),
        ("hosts", "pi", "`hosts` must be a list of patterns"),
        ("hosts", ["pi", 1], "`hosts` must be a list of patterns"),
        ("metrics", ["temp"], "`metrics` must map names to lists of patterns"),
        ("metrics", {"temperature": "temp"}, "`metrics` must map names to lists of patterns"),
        ("metrics", {"temperature": ["temp", 1]}, "`metrics` must map names to lists of patterns"),
    ],
)
def test_a_malformed_lexicon_is_refused_naming_its_entry(tmp_path, monkeypatch, key, value, words):
    data = load_yaml(LEXICON_PATH.read_text(encoding="utf-8"))
    data[key] = value
    path = tmp_path / "lexicon.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setattr(lexicon_module, "LEXICON_PATH", path)
    with pytest.raises(LexiconError) as raised:
        lexicon()
    assert str(raised.value) == f"{path}: {words}"


def test_the_lexicon_file_as_given_is_read_whole(tmp_path, monkeypatch):
    """A copy of the file builds the same lexicon: the names and counts come from the file."""
    path = tmp_path / "lexicon.yaml"
    path.write_text(LEXICON_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(lexicon_module, "LEXICON_PATH", path)
    lex = lexicon()
    assert [name for name, _ in lex.metrics][:2] == ["soc_temp_c", "cpu_percent"]
    assert lex.count_words["a couple of"] == 2
    assert lex.count_words["ten"] == 10
