"""Which stored name a misspelt or partial one suggests ("did you mean pi-node-2?"): a close
spelling, the one name containing it (or contained in it), the one name ending in the same
number; none when the choice is not one name."""

from __future__ import annotations

import pytest

from agent_bruno.agent.nlu.vocabulary import Vocabulary

VOCAB = Vocabulary(
    locations=("warehouse-b", "server-room", "office", "kitchen", "lab"),
    nodes=("pi-node-1", "pi-node-2", "pi-node-13", "edge-7"),
    sensors=("dht22-1", "bme280-2"),
    metrics=("temperature", "humidity"),
)


@pytest.mark.parametrize(
    ("kind", "name", "suggested"),
    [
        ("location", "warehous-b", "warehouse-b"),
        ("location", "Server Room", "server-room"),
        ("location", "serverroom", "server-room"),
        ("location", "kitch", "kitchen"),
        ("location", "la", "lab"),  # contained in one name
        ("location", "labs", "lab"),  # close
        ("location", "office-annex", "office"),  # contains one name of 4 letters or more
        ("node", "pi-node-13x", "pi-node-13"),
        ("node", "node-1", "pi-node-1"),
        ("node", "pinode1", "pi-node-1"),
        ("node", "edge", "edge-7"),
        ("node", "rpi13", "pi-node-13"),
        ("node", "raspberrypi-2", "pi-node-2"),  # the one name ending in 2
        ("node", "raspberrypi-7", "edge-7"),
        ("sensor", "dht", "dht22-1"),
        ("sensor", "dht22", "dht22-1"),
        ("sensor", "bme", "bme280-2"),
        ("metric", "temprature", "temperature"),
        ("metric", "humid", "humidity"),
    ],
)
def test_a_likely_typo_suggests_one_stored_name(kind, name, suggested):
    assert VOCAB.suggest(kind, name) == suggested


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("location", ""),
        ("location", "--"),
        ("location", "b"),  # in several names
        ("node", "pi"),  # in every pi-node
        ("node", "raspberrypi-3"),  # pi-node-13 ends in 13, not in 3
        ("node", "raspberrypi-9"),
        ("sensor", "office"),
    ],
)
def test_no_suggestion_unless_one_name_fits(kind, name):
    assert VOCAB.suggest(kind, name) is None


def test_a_name_contained_in_the_asked_one_needs_four_letters():
    vocab = Vocabulary(locations=("lab", "attic", "hall"))
    assert vocab.suggest("location", "labyrinth-wing") is None
    assert vocab.suggest("location", "hall-east-wing") == "hall"
    assert vocab.suggest("location", "attic-north-wing") == "attic"


def test_a_name_only_two_thirds_alike_is_not_a_typo():
    """The name "garden" shares two thirds of its letters with "garage" (difflib's ratio 0.67): a
    different place, not a misspelling, so nothing is suggested."""
    vocab = Vocabulary(locations=("garage", "office"))
    assert vocab.suggest("location", "garden") is None
    assert vocab.suggest("location", "garag") == "garage"
