"""Find what a question names: metrics (by the lexicon's words), locations, nodes and sensors
(by the catalog's names, typos and abbreviations included), and names that look like one of
these but do not exist. What is found is replaced by a placeholder (`_location_`, `_metric_`)
in the text handed to the intent classifier, so the intent never depends on a name."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cache

from agent_bruno.agent.nlu.lexicon import lexicon
from agent_bruno.agent.nlu.name_index import index_of
from agent_bruno.agent.nlu.vocabulary import Kind, Vocabulary

_NODE_LIKE = re.compile(
    r"(?<![\w-])((?:pi[\s-]?)?node[\s-]?\d+|pi[\s-]?\d+|rpi[\s-]?\d+|n\d+)(?![\w-])", re.I
)
# Host-like names ("raspberrypi-3", "pi4-garage") that are not stored: unknown nodes.
_HOST_LIKE = re.compile(r"(?<![\w-])((?:raspberry[\s-]?pi|rpi|pi\d?)[\w-]*\d[\w-]*)(?![\w-])", re.I)
_METRIC_SLOT = re.compile(
    r"(?<![\w-])(?:what(?:'s|’s| is| are| was)|show(?:\s+me)?|how\s+(?:high|low|much)\s+is|check"
    r"|give\s+me)\s+(?:the\s+)?(?:current\s+|latest\s+|average\s+|mean\s+)?"
    r"([a-z][a-z0-9_]*(?:\s+(?:speed|level|levels|index|intensity|concentration))?)"
    r"(?:\s+(?:level|levels|reading|readings|value|values))?\s+(?:in|at|on|for)"
    r"(?![\w-])",
    re.I,
)
_LEVELS = re.compile(r"(?<![\w-])([a-z][a-z0-9_]*)\s+(?:level|levels)(?![\w-])", re.I)
_PLACE = re.compile(
    r"(?<![\w-])(?P<prep>in|at|inside|for|from|of)\s+(?:the\s+)?"
    r"(?P<word>[a-z][a-z0-9]*(?:[\s_-]+room)?)(?![\w-])",
    re.I,
)
_PLACE_END = re.compile(r"\s*(?:$|[?.!,;:]|_metric_|_time_|_unit_|right now|now|today)", re.I)
# Adjective forms of metric words stay in the text: "driest" says "rank" as much as "humidity".
_ADJECTIVE = re.compile(r"(?:er|est)$|^(?:dry|damp|humid|stuffy|muggy|more\s+humid)$", re.I)
_WORD = re.compile(r"(?<![\w-])[a-z][a-z]+(?![\w-])", re.I)
TYPO_CUTOFF = 0.8


@dataclass(frozen=True, slots=True)
class Unknown:
    """A name in the question that looks like a location, node or metric but is not stored."""

    kind: Kind
    name: str


@dataclass(slots=True)
class Mentions:
    """What a question names, in order of appearance, plus unknown names and the spellings
    taken to mean a stored name ("warehous" → "warehouse")."""

    metrics: list[str] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    sensors: list[str] = field(default_factory=list)
    unknown: list[Unknown] = field(default_factory=list)
    corrected: list[tuple[str, str]] = field(default_factory=list)
    implied_metric: bool = False  # the metric came from a word like "cold", not its name


@cache
def _name_pattern(name: str) -> re.Pattern[str]:
    """A name matched whole, with any of space, hyphen or underscore (or none) between parts."""
    parts = [re.escape(p) for p in re.split(r"[\s_\-]+", name) if p]
    return re.compile(r"(?<![\w-])" + r"[\s_\-]*".join(parts) + r"(?![\w-])", re.I)


class _Text:
    """The question being taken apart: found spans become placeholders."""

    def __init__(self, text: str) -> None:
        self.text = text

    def take(self, start: int, end: int, kind: str) -> None:
        self.text = f"{self.text[:start]} _{kind}_ {self.text[end:]}"

    def take_all(self, pattern: re.Pattern[str], kind: str) -> list[tuple[int, re.Match[str]]]:
        """Every match of `pattern`, each replaced by the placeholder; (position, match)."""
        found = []
        while (m := pattern.search(self.text)) is not None:
            found.append((m.start(), m))
            self.take(m.start(), m.end(), kind)
        return found


def _ordered(found: list[tuple[int, str]]) -> list[str]:
    """Names in the order they appear, each once."""
    out: list[str] = []
    for _, name in sorted(found, key=lambda item: item[0]):
        if name not in out:
            out.append(name)
    return out


def _abbreviates(short: str, word: str, least: int = 3) -> bool:
    """Whether `short` abbreviates `word`: same first letter, its letters in order ("srv")."""
    if len(short) < least or short[0] != word[0] or len(short) >= len(word):
        return False
    rest = iter(word)
    return all(ch in rest for ch in short)


def _part_matches(word: str, part: str) -> bool:
    """Whether one word of the question can be one part of a stored name."""
    if word == part or _abbreviates(word, part):
        return True
    return len(word) >= 4 and difflib.SequenceMatcher(None, word, part).ratio() >= TYPO_CUTOFF


_LETTERS = re.compile(r"[a-z]+", re.I)
_BETWEEN_PARTS = re.compile(r"[a-z\s_\-]*", re.I)


def _loose_locations(t: _Text, vocab: Vocabulary, mentions: Mentions) -> list[tuple[int, str]]:
    """Stored locations written with a typo or an abbreviation ("warehous", "srv room")."""
    found: list[tuple[int, str]] = []
    lex = lexicon()
    names = index_of(vocab)
    read: str | None = None  # the text `words` were read from (a take changes it)
    words: list[re.Match[str]] = []
    said_words: set[str] = set()
    for location, parts in names.multi_part_locations:
        if read is not t.text:
            read = t.text
            words = list(_LETTERS.finditer(read))
            said_words = {w.group(0).lower() for w in words}
        if said_words.isdisjoint(parts):
            continue  # one of its words must be said exactly (below)
        for i in range(len(words) - len(parts) + 1):
            window = words[i : i + len(parts)]
            said = [w.group(0).lower() for w in window]
            between = t.text[window[0].end() : window[-1].start()]
            if _BETWEEN_PARTS.fullmatch(between) is None:
                continue
            if any(w == p for w, p in zip(said, parts, strict=True)) and all(
                _part_matches(w, p) or _abbreviates(w, p, 2)  # "server rm"
                for w, p in zip(said, parts, strict=True)
            ):
                start, end = window[0].start(), window[-1].end()
                mentions.corrected.append((t.text[start:end], location))
                found.append((start, location))
                t.take(start, end, "location")
                break
    keys = names.squashed_locations
    for m in list(_WORD.finditer(t.text))[::-1]:
        word = m.group(0).lower()
        if len(word) < 5 or word in lex.not_places or lex.place_nouns.fullmatch(word):
            continue
        close = difflib.get_close_matches(word, names.squashed_keys, n=1, cutoff=TYPO_CUTOFF)
        if close:
            mentions.corrected.append((m.group(0), keys[close[0]]))
            found.append((m.start(), keys[close[0]]))
            t.take(m.start(), m.end(), "location")
    return found


def _nodes_by_number(t: _Text, vocab: Vocabulary, mentions: Mentions) -> None:
    """ "node 6", "pi3", "pi-node3": the one stored node ending in that number, else unknown."""
    for _, m in t.take_all(_NODE_LIKE, "node"):
        said = m.group(1)
        number = re.search(r"\d+", said)
        by_number = [n for n in vocab.nodes if number and re.search(rf"\D{number.group()}$", n)]
        if len(by_number) == 1:
            if by_number[0] not in mentions.nodes:
                mentions.nodes.append(by_number[0])
        elif not by_number and not said.lower().startswith("n"):
            mentions.unknown.append(Unknown("node", said.lower()))
    for _, m in t.take_all(_HOST_LIKE, "node"):
        mentions.unknown.append(Unknown("node", m.group(1).lower()))


def _metrics(t: _Text, vocab: Vocabulary, mentions: Mentions) -> None:
    """Metric words (the lexicon's, then the catalog's own names), and unstored quantities."""
    lex = lexicon()
    others = t.take_all(lex.quantities_not_stored, "metric")
    found: list[tuple[int, str]] = []
    hot_parts: list[int] = []
    for metric, pattern in lex.metrics:
        for m in list(pattern.finditer(t.text))[::-1]:
            found.append((m.start(), metric))
            if metric == "cpu_percent" and lex.hot_parts.fullmatch(m.group(0)):
                hot_parts.append(m.start())
            if not _ADJECTIVE.search(m.group(0)):
                t.take(m.start(), m.end(), "metric")
    if hot_parts and lex.warmth.search(t.text):  # "the hottest cpu": its SoC, not its use
        found = [
            (p, "soc_temp_c" if m == "cpu_percent" and p in hot_parts else m) for p, m in found
        ]
    for known in vocab.metrics:
        for pos, _ in t.take_all(_name_pattern(known), "metric"):
            found.append((pos, known))
    if not found:  # "noise in the office": a quantity not stored is unknown, said as such
        for _, m in others:
            name = " ".join(m.group(0).lower().split())
            if vocab.canonical("metric", name) is None:
                mentions.unknown.append(Unknown("metric", name))
    if not found:
        warm = lex.warmth.search(t.text)
        if warm:
            found.append((warm.start(), "temperature"))
            mentions.implied_metric = True
    mentions.metrics = _ordered(found)
    if not mentions.metrics:
        for m in (*_METRIC_SLOT.finditer(t.text), *_LEVELS.finditer(t.text)):
            word = " ".join(m.group(1).lower().split())
            unknown = Unknown("metric", word)
            first = word.split()[0]
            if (
                first not in lex.not_metrics | lex.not_places
                and not first.startswith("_")
                and unknown not in mentions.unknown
            ):
                mentions.unknown.append(unknown)


def _unknown_places(t: _Text, vocab: Vocabulary, mentions: Mentions) -> None:
    """ "in the kitchen": a place noun, or any word in a place's position when nothing stored
    was named, that is not stored."""
    lex = lexicon()
    named = bool(mentions.locations or mentions.nodes)
    for m in list(_PLACE.finditer(t.text)):
        word = " ".join(m.group("word").lower().split())
        first = word.split()[0]
        if first in lex.not_places or vocab.canonical("node", word):
            continue
        noun = lex.place_nouns.fullmatch(word) or lex.place_nouns.fullmatch(first)
        positional = (
            not named
            and m.group("prep").lower() in ("in", "at", "inside")
            and _PLACE_END.match(t.text, m.end()) is not None
        )
        if noun or positional:
            mentions.unknown.append(Unknown("location", word))
            t.take(m.start("word"), m.end("word"), "location")
            return
    noun_only = lex.place_nouns.search(t.text)
    if noun_only is not None:
        said = " ".join(noun_only.group(0).lower().split())
        mentions.unknown.append(Unknown("location", said))
        t.take(noun_only.start(), noun_only.end(), "location")


def extract(text: str, vocab: Vocabulary) -> Mentions:
    """Everything the question names that the catalog knows, and look-alikes it does not."""
    return extract_delexed(text, vocab)[0]


def extract_delexed(text: str, vocab: Vocabulary) -> tuple[Mentions, str]:
    """What `extract` finds, and the question with each of those names replaced by its
    placeholder (what the intent classifier reads)."""
    mentions = Mentions()
    t = _Text(text)
    # Only the names whose parts all occur are tried (`name_index`), in the same order: longer
    # names first, so "pi-node-10" is taken before "pi-node-1".
    names = index_of(vocab)
    nodes = [
        (pos, name)
        for name in names.nodes.candidates(text)
        for pos, _ in t.take_all(_name_pattern(name), "node")
    ]
    mentions.nodes = _ordered(nodes)
    # A sensor named by a plain word ("node", the host's own health) is not looked for in free
    # text: "is the node healthy" is not about that sensor.
    sensors = [
        (pos, name)
        for name in names.sensors.candidates(text)
        for pos, _ in t.take_all(_name_pattern(name), "sensor")
    ]
    mentions.sensors = _ordered(sensors)
    locations = [
        (pos, name)
        for name in names.locations.candidates(text)
        for pos, _ in t.take_all(_name_pattern(name), "location")
    ]
    _nodes_by_number(t, vocab, mentions)
    _metrics(t, vocab, mentions)
    locations += _loose_locations(t, vocab, mentions)
    mentions.locations = _ordered(locations)
    _unknown_places(t, vocab, mentions)
    delexed = re.sub(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", " _num_ ", t.text)
    return mentions, " ".join(delexed.split())
