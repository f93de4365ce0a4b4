"""Typos of the understanding's own words read as those words, from the typo vocabulary as
built afresh for each test (it is read once per process, so a change to how it is built is
otherwise seen by one test at most): real words, the lexicon's and the homelab's names kept."""

from __future__ import annotations

import pytest
import yaml

from agent_bruno.agent.nlu import spelling as spelling_module
from agent_bruno.agent.nlu.lexicon import LexiconError, lexicon, load_yaml
from agent_bruno.agent.nlu.spelling import SPELLING_PATH, correct, spelling
from agent_bruno.agent.nlu.vocabulary import Vocabulary

VOCAB = Vocabulary(locations=("garage", "sensar"), nodes=("pi-node-1",), metrics=("temperature",))


@pytest.fixture(autouse=True)
def fresh_spelling():
    caches = (spelling, spelling_module._correction, lexicon)
    for c in caches:
        c.cache_clear()
    yield
    for c in caches:
        c.cache_clear()


@pytest.mark.parametrize(
    ("text", "read", "fixes"),
    [
        ("anomolies today", "anomalies today", [("anomolies", "anomalies")]),
        ("Critcal alerts", "critical alerts", [("Critcal", "critical")]),
        # a real word one edit from a target, listed to keep
        ("court the sensors", "court the sensors", []),
        # a word of the lexicon's patterns ("warming" is warmth, not "warning")
        ("is it warming up", "is it warming up", []),
        # a stored name's word, and a word as close to a stored place as to a target
        ("temperature in sensar", "temperature in sensar", []),
        ("temperature in sensir", "temperature in sensir", []),
        ("temperature of the sensir", "temperature of the sensir", []),
    ],
)
def test_a_typo_is_read_as_the_word_unless_it_is_a_word_or_name(text, read, fixes):
    assert correct(text, VOCAB) == (read, fixes)


def test_a_typo_far_from_every_stored_place_is_corrected():
    vocab = Vocabulary(locations=("garage",), metrics=("temperature",))
    assert correct("temperature of the sensir", vocab) == (
        "temperature of the sensor",
        [("sensir", "sensor")],
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [("targets", "anomaly"), ("targets", ["anomaly", 3]), ("keep", None), ("keep", "court")],
)
def test_a_malformed_typo_vocabulary_is_refused_naming_its_entry(tmp_path, monkeypatch, key, value):
    data = load_yaml(SPELLING_PATH.read_text(encoding="utf-8"))
    data[key] = value
    path = tmp_path / "spelling.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setattr(spelling_module, "SPELLING_PATH", path)
    with pytest.raises(LexiconError) as raised:
        spelling()
    assert str(raised.value) == f"{path}: `{key}` must be a list of words"
