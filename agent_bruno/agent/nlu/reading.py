"""`TurnReading`: what one turn has read of its question, so no clause is read twice.

A turn may read its first clause before the agent runs (the alert desk asks `intent_of` whether
the sentence is its own) and again when it is understood; slots and classifier scores are pure
functions of the text, the catalog's names and the time, so the second reading takes the
first's. One per turn, never kept past it: a question is always read afresh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

from agent_bruno.agent.nlu.classifier import load_model
from agent_bruno.agent.nlu.slots import Slots, read_slots
from agent_bruno.agent.nlu.vocabulary import Vocabulary


@dataclass(slots=True)
class TurnReading:
    """Slots by clause text and scores by delexed text, for one vocabulary at one time."""

    vocab: Vocabulary
    now: float
    slots: dict[str, Slots] = field(default_factory=dict)
    scores: dict[str, list[tuple[str, float]]] = field(default_factory=dict)


def slots_of(
    text: str, vocab: Vocabulary, now: float, tz: tzinfo, reading: TurnReading | None
) -> Slots:
    """`read_slots(text, …)`, taken from `reading` when it holds that clause at that time."""
    if reading is None or reading.vocab is not vocab or reading.now != now:
        return read_slots(text, vocab, now, tz)
    found = reading.slots.get(text)
    if found is None:
        found = reading.slots[text] = read_slots(text, vocab, now, tz)
    return found


def scores_of(slots: Slots, reading: TurnReading | None) -> list[tuple[str, float]]:
    """Every intent with its probability for the clause, best first (the classifier's)."""
    if reading is None:
        return load_model().scores(slots.delexed)
    found = reading.scores.get(slots.delexed)
    if found is None:
        found = reading.scores[slots.delexed] = load_model().scores(slots.delexed)
    return list(found)
