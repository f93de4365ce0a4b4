"""Finding stored names in a question with a big catalog: only names that can occur are tried,
and what is found is exactly what trying every name finds."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agent_bruno.agent.nlu.extract as extract
from agent_bruno.agent.nlu.extract import extract_delexed
from agent_bruno.agent.nlu.name_index import NameIndex, VocabularyIndex, index_of
from agent_bruno.agent.nlu.vocabulary import Vocabulary
from agent_bruno.storage.base import CatalogRow

BIG = Vocabulary.from_catalog(
    [
        CatalogRow("homelab", f"node-{n}", f"loc-{n % 50}", f"s{s}", "temperature", "°C", 0, 1)
        for n in range(1000)
        for s in range(10)
    ]
)
NAMES = [
    "pi-node-1", "pi-node-10", "pi_node_4", "Pi Node 5", "warehouse", "warehouse-b", "server-room",
    "x-node-y", "köln-lab", "a.b", "loc(1)", "dht22-1", "mh-z19-1", "node",
]  # fmt: skip
MIXED = Vocabulary.from_catalog(
    [
        CatalogRow("homelab", n, loc, s, "humidity", "%", 0, 1)
        for n in NAMES[:4] + NAMES[7:9]
        for loc in NAMES[4:11]
        for s in NAMES[11:]
    ]
)
WORDS = [*NAMES, "what", "is", "in", "node", "-", "7", "17", "node7", "NODE-7", "loc-3", "LOC 3",
         "s1", "S-1", "_node_", "server rm", "warehous", "y", "ß", "K", "°C", "and"]  # fmt: skip


class EveryName:
    """The reference: every name tried, in order."""

    def __init__(self, index: NameIndex) -> None:
        self.names = index.names

    def candidates(self, text: str) -> list[str]:
        return list(self.names)


def _tried_everywhere(vocab: Vocabulary) -> VocabularyIndex:
    reference = VocabularyIndex(vocab)
    reference.nodes = EveryName(reference.nodes)  # type: ignore[assignment]
    reference.sensors = EveryName(reference.sensors)  # type: ignore[assignment]
    reference.locations = EveryName(reference.locations)  # type: ignore[assignment]
    return reference


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8), st.sampled_from([BIG, MIXED]))
def test_the_names_found_are_those_trying_every_name_finds(words: list[str], vocab: Vocabulary):
    text = " ".join(words)
    fast = extract_delexed(text, vocab)
    reference = _tried_everywhere(vocab)
    original = extract.index_of
    try:
        extract.index_of = lambda v: reference  # type: ignore[assignment]
        slow = extract_delexed(text, vocab)
    finally:
        extract.index_of = original
    assert fast == slow


@pytest.mark.parametrize(
    ("question", "node", "location"),
    [
        ("Why is node-7 under high load?", "node-7", None),
        ("what's wrong with NODE 500?", "node-500", None),
        ("any past incidents in loc-30?", None, "loc-30"),
    ],
)
def test_a_question_in_a_catalog_of_1000_nodes_tries_only_its_names(
    question: str, node: str | None, location: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried: list[Any] = []
    take_all = extract._Text.take_all

    def counted(self: Any, pattern: Any, kind: str) -> Any:
        tried.append(pattern)
        return take_all(self, pattern, kind)

    monkeypatch.setattr(extract._Text, "take_all", counted)
    mentions, _ = extract_delexed(question, BIG)

    assert mentions.nodes == ([node] if node else [])
    assert mentions.locations == ([location] if location else [])
    assert len(tried) < 30  # not one pattern per stored name (1,000 nodes, 50 places)


def test_the_index_is_built_once_per_vocabulary() -> None:
    assert index_of(BIG) is index_of(BIG)
    other = Vocabulary.from_catalog([CatalogRow("homelab", "n", "l", "s1", "m", "", 0, 1)])
    assert index_of(other) is not index_of(BIG)
    assert index_of(other).nodes.names == ["n"]


@pytest.mark.parametrize(
    ("question", "locations", "nodes"),
    [
        ("temperature in the office annex", ["office annex"], []),
        ("temperature in the office", ["office"], []),
        ("cpu of rack pi 2", [], ["rack pi 2"]),
        ("cpu of rack pi", [], ["rack pi"]),
        # two names overlapping: the longer one is read
        ("cpu of core edge 2", [], ["core edge"]),
    ],
)
def test_the_longest_stored_name_a_text_holds_is_the_one_read(question, locations, nodes):
    vocab = Vocabulary(
        locations=("office", "office annex"),
        nodes=("rack pi", "rack pi 2", "edge 2", "core edge"),
        metrics=("temperature", "cpu_percent"),
    )
    mentions = extract_delexed(question, vocab)[0]
    assert (mentions.locations, mentions.nodes) == (locations, nodes)
