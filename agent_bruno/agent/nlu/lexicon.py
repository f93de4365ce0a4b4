"""The understanding's word lists, read once from `data/lexicon.yaml` and compiled."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LEXICON_PATH = Path(__file__).with_name("data") / "lexicon.yaml"
# libyaml's safe loader when it is there (ten times faster), else PyYAML's own.
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """YAML data with a safe loader: plain values only, no objects constructed."""
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - SAFE_LOADER is a safe loader


class LexiconError(ValueError):
    """The lexicon file is malformed; the message names the entry."""


def _alternation(alternatives: Iterable[str]) -> str:
    """The alternatives as one regex alternation, longest first; a space matches any run."""
    return "|".join(a.replace(" ", r"\s+") for a in sorted(alternatives, key=len, reverse=True))


def word_pattern(alternatives: Sequence[str]) -> re.Pattern[str]:
    """One pattern matching any alternative as a whole word (no letter, digit or hyphen
    either side), case-insensitively; spaces in an alternative match any run of spaces."""
    body = "|".join(a.replace(" ", r"\s+") for a in sorted(alternatives, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.I)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Compiled word lists; see `data/lexicon.yaml` for what each one means."""

    metrics: tuple[tuple[str, re.Pattern[str]], ...]
    warmth: re.Pattern[str]
    hosts: re.Pattern[str]
    hot_parts: re.Pattern[str]
    quantities_not_stored: re.Pattern[str]
    place_nouns: re.Pattern[str]
    not_places: frozenset[str]
    not_metrics: frozenset[str]
    aggregates: tuple[tuple[str, re.Pattern[str]], ...]
    order: Mapping[str, re.Pattern[str]]
    severity: tuple[tuple[str, re.Pattern[str]], ...]
    severity_inside: tuple[tuple[str, re.Pattern[str]], ...]  # also in "warning-level"
    negated: re.Pattern[str]  # a negation ending a text: what follows is left out
    status: tuple[tuple[str, re.Pattern[str]], ...]
    counting: tuple[tuple[str, re.Pattern[str]], ...]
    pronouns: re.Pattern[str]
    shifts: tuple[tuple[str, re.Pattern[str]], ...]
    limit: re.Pattern[str]  # a ranking's count: group `count`
    count_words: Mapping[str, int]
    shown: re.Pattern[str]  # pointing back at the places the last answers showed


def inside_pattern(alternatives: Sequence[str]) -> re.Pattern[str]:
    """Like `word_pattern`, but a hyphen may join the word to another ("warning-level",
    "non-critical")."""
    body = "|".join(a.replace(" ", r"\s+") for a in sorted(alternatives, key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{body})(?![^\W_])", re.I)


# Words a negation may stand apart from what it leaves out by: "not the critical ones".
_NEGATION_GAP = r"(?:(?:the|any|of|those|these|that|which|are|were|is|was|just|only)\s+){0,3}"


def _table(data: Mapping[str, Any], key: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    section = data.get(key)
    if not isinstance(section, dict) or not all(
        isinstance(v, list) and all(isinstance(w, str) for w in v) for v in section.values()
    ):
        raise LexiconError(f"{LEXICON_PATH}: `{key}` must map names to lists of patterns")
    return tuple((str(name), word_pattern(words)) for name, words in section.items())


def _words(data: Mapping[str, Any], key: str) -> re.Pattern[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise LexiconError(f"{LEXICON_PATH}: `{key}` must be a list of patterns")
    return word_pattern(value)


def _set(data: Mapping[str, Any], key: str) -> frozenset[str]:
    value = data.get(key)
    if not isinstance(value, str):
        raise LexiconError(f"{LEXICON_PATH}: `{key}` must be a text of words")
    return frozenset(value.split())


def _negated(data: Mapping[str, Any]) -> re.Pattern[str]:
    words = data.get("negations")
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise LexiconError(f"{LEXICON_PATH}: `negations` must be a list of patterns")
    body = "|".join(w.replace(" ", r"\s+") for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{body})(?:\s+|\s*-\s*){_NEGATION_GAP}$", re.I)


def _limit(data: Mapping[str, Any]) -> tuple[re.Pattern[str], dict[str, int]]:
    """The pattern of a ranking's count ("top 3", "the two warmest") and the counts in words."""
    words = data.get("count_words")
    lead = data.get("limit_lead")
    order = data.get("order")
    if not isinstance(words, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and v > 0 for k, v in words.items()
    ):
        raise LexiconError(f"{LEXICON_PATH}: `count_words` must map words to counts above 0")
    if not isinstance(lead, list) or not all(isinstance(w, str) for w in lead):
        raise LexiconError(f"{LEXICON_PATH}: `limit_lead` must be a list of patterns")
    assert isinstance(order, dict)  # checked by _table
    counts = rf"[1-9][0-9]?|{_alternation(words)}"
    order_words = _alternation([w for ws in order.values() for w in ws])
    lead_words = _alternation(lead)
    pattern = re.compile(
        rf"(?<![\w-])(?:(?:{lead_words})\s+(?P<count>{counts})(?=\s+[^\W\d]|\s*[.?!]*\s*$)"
        rf"|(?P<count2>{counts})\s+(?:{order_words})(?![\w-]))",
        re.I,
    )
    return pattern, {k.lower(): v for k, v in words.items()}


@cache
def lexicon() -> Lexicon:
    """The lexicon (read and compiled once per process)."""
    data = load_yaml(LEXICON_PATH.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise LexiconError(f"{LEXICON_PATH}: expected a mapping of word lists")
    order = dict(_table(data, "order"))
    limit, count_words = _limit(data)
    return Lexicon(
        metrics=_table(data, "metrics"),
        warmth=_words(data, "warmth"),
        hosts=_words(data, "hosts"),
        hot_parts=_words(data, "hot_parts"),
        quantities_not_stored=_words(data, "quantities_not_stored"),
        place_nouns=_words(data, "place_nouns"),
        not_places=_set(data, "not_places"),
        not_metrics=_set(data, "not_metrics"),
        aggregates=_table(data, "aggregates"),
        order=order,
        severity=_table(data, "severity"),
        severity_inside=tuple(
            (name, inside_pattern(words)) for name, words in data["severity"].items()
        ),
        negated=_negated(data),
        status=_table(data, "status"),
        counting=_table(data, "counting"),
        pronouns=_words(data, "pronouns"),
        shifts=_table(data, "shifts"),
        limit=limit,
        count_words=count_words,
        shown=_words(data, "shown"),
    )


def first_match(table: Sequence[tuple[str, re.Pattern[str]]], text: str) -> str | None:
    """The name of the entry whose words occur first in `text` (None: no entry's do)."""
    best: tuple[int, str] | None = None
    for name, pattern in table:
        m = pattern.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), name)
    return best[1] if best else None


def all_matches(table: Sequence[tuple[str, re.Pattern[str]]], text: str) -> list[str]:
    """The names of every entry whose words occur in `text`, in order of appearance."""
    found = [(m.start(), name) for name, p in table if (m := p.search(text))]
    return [name for _, name in sorted(found)]
