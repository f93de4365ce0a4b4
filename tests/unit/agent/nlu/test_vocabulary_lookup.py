"""A stored name found by what it squashes to (no case, spaces, hyphens or underscores) in one
lookup: `node_health` for one node scanned every stored node name (1,000 in the graph bench) at
every question; the index is built once per vocabulary, which a write that changes the data
replaces."""

from __future__ import annotations

import pytest

from agent_bruno.agent.nlu import vocabulary
from agent_bruno.agent.nlu.vocabulary import Vocabulary, squash
from agent_bruno.storage.base import CatalogRow


def row(node: str, location: str = "lab", sensor: str = "dht22-1") -> CatalogRow:
    return CatalogRow(
        node=node, location=location, sensor=sensor, metric="temperature", unit="°C",
        cluster="homelab", first_ts=0.0, last_ts=1.0,
    )  # fmt: skip


def test_a_name_is_found_in_any_case_and_spacing_and_the_first_stored_one_wins() -> None:
    vocab = Vocabulary.from_catalog([row("pi_node_2"), row("pi-node-2"), row("Server Pi")])
    assert vocab.canonical("node", "PI NODE 2") == "pi-node-2"  # sorted first: "-" < "_"
    assert vocab.canonical("node", "server-pi") == "Server Pi"
    assert vocab.canonical("location", "LAB") == "lab"
    assert vocab.canonical("node", "pi-node-3") is None
    assert vocab.canonical("sensor", "DHT22 1") == "dht22-1"


def test_the_lookup_answers_as_a_scan_of_every_name_did() -> None:
    names = [f"node-{i}" for i in range(1000)] + ["Node 7", "NODE_7x"]
    vocab = Vocabulary.from_catalog([row(n) for n in names])
    for asked in ("node-7", "NODE 7", "node_999", "node7x", "node-1000", "", "node 70"):
        scanned = next((n for n in vocab.nodes if squash(n) == squash(asked)), None)
        assert vocab.canonical("node", asked) == scanned, asked


def test_a_vocabulary_read_after_a_write_knows_the_new_name() -> None:
    before = Vocabulary.from_catalog([row("pi-node-1")])
    assert before.canonical("node", "pi-node-2") is None  # the index is built now
    after = Vocabulary.from_catalog([row("pi-node-1"), row("pi-node-2")])
    assert after.canonical("node", "PI-NODE-2") == "pi-node-2"
    assert before.canonical("node", "pi-node-2") is None


def test_a_later_lookup_does_not_go_over_every_stored_name_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vocab = Vocabulary.from_catalog([row(f"node-{i}") for i in range(1000)])
    vocab.canonical("node", "node-1")
    squashed: list[str] = []

    def counted(name: str) -> str:
        squashed.append(name)
        return squash(name)

    monkeypatch.setattr(vocabulary, "squash", counted)
    assert vocab.canonical("node", "NODE 999") == "node-999"
    assert squashed == ["NODE 999"]  # the asked name only, not the 1,000 stored ones


def test_the_catalog_gives_each_metric_its_unit_and_each_node_its_newest_place() -> None:
    def reading(node: str, location: str, metric: str, unit: str, last: float) -> CatalogRow:
        return CatalogRow(
            node=node, location=location, sensor="s", metric=metric, unit=unit,
            cluster="homelab", first_ts=0.0, last_ts=last,
        )  # fmt: skip

    vocab = Vocabulary.from_catalog(
        [
            reading("pi-1", "lab", "temperature", "°C", 5.0),
            reading("pi-1", "attic", "humidity", "%", 9.0),
            reading("pi-2", "lab", "temperature", "°F", 1.0),  # the first unit seen stays
        ]
    )
    assert vocab.units == {"temperature": "°C", "humidity": "%"}
    assert vocab.node_location == {"pi-1": "attic", "pi-2": "lab"}
    assert vocab.metrics == ("humidity", "temperature")
