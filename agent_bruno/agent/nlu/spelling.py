"""Typos in the words that carry a question ("number of anomolies", "critcal alerts",
"avrage tempreture yesterdy"): each unknown word one edit (two in a long word) from exactly one
of the understanding's words is read as that word, before slots and intent are read.

The words and the ones to leave alone are data (`data/spelling.yaml`); a word is known when
that file, the lexicon's patterns or the catalog's names hold it. Distances are RapidFuzz's
optimal string alignment (a swap of two letters is one edit), so a question is corrected in
microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from agent_bruno.agent.nlu.lexicon import LEXICON_PATH, LexiconError, lexicon, load_yaml
from agent_bruno.agent.nlu.vocabulary import Vocabulary

SPELLING_PATH = Path(__file__).with_name("data") / "spelling.yaml"
MIN_LENGTH = 5  # shorter words are too often another real word one edit away
LONG_WORD = 8  # from this length, two edits
_WORD = re.compile(r"(?<![\w'’-])[a-z]+(?![\w'’-])", re.I)
_LITERAL = re.compile(r"[a-z]{3,}")


@dataclass(frozen=True, slots=True)
class Spelling:
    """The words typos are corrected to, and the words never corrected."""

    targets: tuple[str, ...]
    known: frozenset[str]


def _words(data: object, key: str) -> list[str]:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise LexiconError(f"{SPELLING_PATH}: `{key}` must be a list of words")
    return [w.lower() for w in value]


@cache
def spelling() -> Spelling:
    """The typo vocabulary (read once per process)."""
    data = load_yaml(SPELLING_PATH.read_text(encoding="utf-8"))
    targets = _words(data, "targets")
    lexicon_words = _LITERAL.findall(LEXICON_PATH.read_text(encoding="utf-8").lower())
    known = frozenset([*targets, *_words(data, "keep"), *lexicon_words])
    return Spelling(tuple(t for t in dict.fromkeys(targets) if len(t) >= MIN_LENGTH), known)


def _lexicon_knows(word: str) -> bool:
    """Whether one of the lexicon's patterns matches the word whole ("warming", "temperture")."""
    lex = lexicon()
    tables = (lex.metrics, lex.aggregates, lex.severity, lex.status, lex.counting, lex.shifts)
    patterns = [p for table in tables for _, p in table]
    patterns += [lex.warmth, lex.hosts, lex.quantities_not_stored, lex.place_nouns]
    return any(p.fullmatch(word) for p in patterns)


def _catalog_words(vocab: Vocabulary) -> tuple[set[str], set[str]]:
    """Every word of a stored name, and those of locations (which extraction matches
    typo-tolerantly itself)."""
    names: Iterable[str] = (*vocab.locations, *vocab.nodes, *vocab.sensors, *vocab.metrics)
    words = {w for name in names for w in re.split(r"[^a-z0-9]+", name.lower()) if w}
    places = {w for name in vocab.locations for w in re.split(r"[^a-z0-9]+", name.lower()) if w}
    return words, places


def _allowed(word: str) -> int:
    return 2 if len(word) >= LONG_WORD else 1


@lru_cache(maxsize=4096)
def _correction(word: str) -> str | None:
    """The target `word` is a typo of, or None (known, too far, or two targets as close)."""
    s = spelling()
    if word in s.known or _lexicon_knows(word):
        return None
    limit = _allowed(word)
    close = process.extract(word, s.targets, scorer=OSA.distance, score_cutoff=limit, limit=3)
    same_start = [(t, d) for t, d, _ in close if t[0] == word[0]]
    if not same_start:
        return None
    best = min(d for _, d in same_start)
    winners = [t for t, d in same_start if d == best]
    if len(winners) != 1 or winners[0].startswith(word) or word.startswith(winners[0]):
        return None  # two as close, or a form of the target itself ("snoozed", "workload")
    return winners[0]


def correct(text: str, vocab: Vocabulary) -> tuple[str, list[tuple[str, str]]]:
    """`text` with typos of the understanding's words corrected, and each (said, read as)."""
    catalog: tuple[set[str], set[str]] | None = None
    fixes: list[tuple[str, str]] = []
    pieces: list[str] = []
    last = 0
    for m in _WORD.finditer(text):
        said = m.group(0)
        if len(said) < MIN_LENGTH:
            continue
        target = _correction(said.lower())
        if target is None:
            continue
        if catalog is None:
            catalog = _catalog_words(vocab)
        words, places = catalog
        if said.lower() in words or any(
            OSA.distance(said.lower(), name) <= _allowed(said) for name in places
        ):
            continue  # a name of this homelab, perhaps misspelt: extraction matches it
        pieces += [text[last : m.start()], target]
        last = m.end()
        fixes.append((said, target))
    if not fixes:
        return text, fixes
    return "".join([*pieces, text[last:]]), fixes
