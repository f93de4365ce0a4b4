"""The intents, as data: one YAML file per intent in `intents/` (see `intents/README.md`).

An intent names its example questions (what the classifier learns from), the plan that turns
its slots into tool calls (`plans.py`), the answer writer (`compose`), and, for a request the
agent cannot serve yet, the reply that says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from agent_bruno.agent.nlu.lexicon import load_yaml
from agent_bruno.agent.nlu.slots import read_slots
from agent_bruno.agent.nlu.vocabulary import Vocabulary

INTENTS_DIR = Path(__file__).with_name("intents")
TRAINING_VOCABULARY = Path(__file__).with_name("data") / "training_vocabulary.yaml"
# Examples are read against a fixed clock: their time phrases only need to be recognised.
TRAINING_NOW = datetime(2026, 11, 26, 14, 20, tzinfo=UTC).timestamp()
_KEYS = {"intent", "description", "plan", "answer", "reply", "examples"}


class IntentError(ValueError):
    """An intent file is malformed; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class IntentSpec:
    """One intent: what it is, how it is planned and answered, and its examples."""

    name: str
    description: str
    plan: str
    answer: str
    reply: str | None
    examples: tuple[str, ...]
    source: str


def _spec(path: Path) -> IntentSpec:
    data = load_yaml(path.read_text(encoding="utf-8"))
    where = str(path)
    if not isinstance(data, dict) or set(data) - _KEYS or "intent" not in data:
        raise IntentError(f"{where}: expected a mapping with keys among {sorted(_KEYS)}")
    name, examples = data["intent"], data.get("examples")
    if not isinstance(name, str) or name != path.stem:
        raise IntentError(f"{where}: `intent` must be the file's name, {path.stem!r}")
    if not isinstance(examples, list) or len(examples) < 5:
        raise IntentError(f"{where}: `examples` must list at least 5 example questions")
    if not all(isinstance(e, str) and e.strip() for e in examples):
        raise IntentError(f"{where}: every example must be a non-empty string")
    plan = data.get("plan", name)
    reply = data.get("reply")
    if not isinstance(plan, str) or (reply is not None and not isinstance(reply, str)):
        raise IntentError(f"{where}: `plan` and `reply` must be strings")
    if plan == "unsupported" and not reply:
        raise IntentError(f"{where}: an unsupported intent needs the `reply` that says so")
    answer = data.get("answer", plan)
    return IntentSpec(
        name,
        str(data.get("description", "")).strip(),
        plan,
        str(answer),
        reply.strip() if reply else None,
        tuple(examples),
        where,
    )


@cache
def intents(directory: Path = INTENTS_DIR) -> dict[str, IntentSpec]:
    """Every intent, by name (read once per process)."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise IntentError(f"no intent files (*.yaml) in {directory}")
    specs = [_spec(p) for p in files]
    seen: dict[str, str] = {}
    for spec in specs:
        for example in spec.examples:
            key = " ".join(example.lower().split())
            if key in seen and seen[key] != spec.name:
                raise IntentError(
                    f"{spec.source}: example {example!r} is also an example of {seen[key]!r}"
                )
            seen[key] = spec.name
    return {s.name: s for s in specs}


@cache
def training_vocabulary() -> Vocabulary:
    """The names the examples use (the demo's homelab and a few more)."""
    data = load_yaml(TRAINING_VOCABULARY.read_text(encoding="utf-8"))
    return Vocabulary(
        locations=tuple(data["locations"]),
        nodes=tuple(data["nodes"]),
        sensors=tuple(data["sensors"]),
        metrics=tuple(data["metrics"]),
    )


def training_set(specs: Sequence[IntentSpec]) -> tuple[list[str], list[str]]:
    """The examples as the classifier sees them (names and phrases taken out) and their
    intents."""
    vocab = training_vocabulary()
    texts, labels = [], []
    for spec in specs:
        for example in spec.examples:
            texts.append(read_slots(example, vocab, TRAINING_NOW, UTC).delexed)
            labels.append(spec.name)
    return texts, labels


def digest(texts: Sequence[str], labels: Sequence[str]) -> str:
    """sha256 of the training set: the model is stale when this changes."""
    payload = json.dumps([list(texts), list(labels)], ensure_ascii=False).encode()
    return hashlib.sha256(payload).hexdigest()
