"""Everything a question says besides its intent: names, time range, unit, statistic, order,
severity, status and what is counted; and the question with those taken out (placeholders),
which is what the intent classifier reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from agent_bruno.agent.nlu.extract import Mentions, extract_delexed
from agent_bruno.agent.nlu.lexicon import all_matches, first_match, lexicon
from agent_bruno.agent.nlu.spelling import correct
from agent_bruno.agent.nlu.timeexpr import find_time_spans
from agent_bruno.agent.nlu.units import find_unit
from agent_bruno.agent.nlu.vocabulary import Vocabulary

DAY = 86_400.0
_COMPARE_CUE = re.compile(
    r"(?<![\w-])(?:compare[sd]?|comparing|comparison|vs\.?|versus|against|relative to|than"
    r"|from what it was|from how it was)(?![\w-])",
    re.I,
)
# What stands right before the other period: "with", "than", "compared to (the same) ...".
_TO_PERIOD = re.compile(
    r"(?<![\w-])(?:with|to|against|vs\.?|versus|than|and|compare[sd]?(?:\s+(?:it|that|this|them))?"
    r"|comparison)\s+(?:(?:the\s+)?(?:same\s+)?(?:values?|readings?|numbers|figures|data|ones)"
    r"\s+(?:of|from|for)\s+|that of\s+|those of\s+|what it was\s+|how it was\s+)?$",
    re.I,
)
_EVER = re.compile(r"(?<![\w-])(?:on record|ever|all[\s-]time|so far|in history)(?![\w-])", re.I)
_NOW = re.compile(
    r"(?<![\w-])(?:right now|rn|atm|at the moment|currently|at present|presently|now)(?![\w-])",
    re.I,
)
_WISE = re.compile(r"-(?:wise|related)(?![\w-])", re.I)
# A unit that can only belong to one stored metric names it.
UNIT_METRIC = {
    "°C": "temperature",
    "°F": "temperature",
    "K": "temperature",
    "hPa": "pressure",
    "inHg": "pressure",
    "mmHg": "pressure",
    "kPa": "pressure",
    "mbar": "pressure",
}
Span = dict[str, Any]  # {"start", "end", "label"}: JSON-ready, checkpointed with the focus


@dataclass(slots=True)
class Slots:
    """What one question (or one clause of it) says, besides its intent."""

    text: str
    delexed: str
    mentions: Mentions
    span: Span | None = None
    target: Span | None = None  # "compare with yesterday": the other period
    shift: float | None = None  # "and the day before?": move the previous range back
    unit: str | None = None
    aggregates: list[str] = field(default_factory=list)
    order: str | None = None
    severity: str | None = None
    status: str | None = None
    counting: list[str] = field(default_factory=list)
    hosts: bool = False  # the question is about the Pis themselves ("which Pi is hottest")
    pronoun: bool = False
    now: bool = False  # "right now": the latest value, not a range
    limit: int | None = None  # "top 3": how many of a ranking to show
    shown: bool = False  # "which of the two": the places the last answers showed

    @property
    def named(self) -> bool:
        """Whether the question names a metric, place, node or sensor (stored or not)."""
        m = self.mentions
        return bool(m.metrics or m.locations or m.nodes or m.sensors or m.unknown)

    @property
    def place_named(self) -> bool:
        """Whether it names a location or node (stored or not)."""
        m = self.mentions
        return bool(
            m.locations or m.nodes or any(u.kind in ("location", "node") for u in m.unknown)
        )


def _span(found: Any) -> Span:
    return {"start": found.span.start, "end": found.span.end, "label": found.span.label}


def read_slots(text: str, vocab: Vocabulary, now: float, tz: tzinfo) -> Slots:
    """The slots of `text` (one clause) against the stored names."""
    lex = lexicon()
    text, fixes = correct(" ".join(text.split()), vocab)
    rest = _WISE.sub(" ", text)
    target = None
    spans = find_time_spans(rest, now, tz)
    span = None
    cue = _COMPARE_CUE.search(rest)
    if cue is not None and spans:
        # "compare with yesterday", "warmer than last week", "today versus yesterday": the
        # range after the comparison word is the other period; one before it is the asked one.
        other = next((t for t in reversed(spans) if t.start_index >= cue.start()
                      and _TO_PERIOD.search(rest[: t.start_index])), None)  # fmt: skip
        if other is not None:
            target = _span(other)
            rest = rest[: other.start_index] + " _time_ " + rest[other.end_index :]
            spans = [t for t in spans if t is not other]
    if spans:
        found = spans[0]
        span = _span(found)
        rest = rest[: found.start_index] + " _time_ " + rest[found.end_index :]
    elif _EVER.search(rest):
        span = {"start": now - 30 * DAY, "end": now, "label": "the last 30 days (all that is kept)"}
        rest = _EVER.sub(" _time_ ", rest)
    shift = None
    for name, pattern in lex.shifts:
        if pattern.search(rest):
            shift = DAY if name == "day" else 7 * DAY
            rest = pattern.sub(" _time_ ", rest)
    is_now = _NOW.search(rest) is not None
    unit = None
    asked = find_unit(rest)
    if asked is not None:
        unit, start, end = asked
        rest = rest[:start] + " _unit_ " + rest[end:]
    limit = _limit(rest)  # before names and numbers become placeholders
    mentions, delexed = extract_delexed(rest, vocab)
    mentions.corrected[:0] = fixes
    implied = UNIT_METRIC.get(unit or "")
    if implied and not mentions.metrics and not any(u.kind == "metric" for u in mentions.unknown):
        mentions.metrics.append(implied)  # "how many degrees F is it", "above 30 °C"
        mentions.implied_metric = True
    hosts = lex.hosts.search(delexed) is not None
    about_hosts = hosts and not mentions.locations and not mentions.unknown
    if about_hosts and mentions.implied_metric and mentions.metrics == ["temperature"]:
        mentions.metrics = ["soc_temp_c"]  # "the warmest pi", "which board runs hot"
    return Slots(
        text=text,
        delexed=delexed,
        mentions=mentions,
        span=span,
        target=target,
        shift=shift,
        unit=unit,
        aggregates=all_matches(lex.aggregates, delexed),
        order=_order(delexed),
        severity=_severity(delexed),
        status=_status(delexed, hosts),
        counting=all_matches(lex.counting, delexed),
        hosts=hosts,
        pronoun=lex.pronouns.search(delexed) is not None,
        now=is_now,
        limit=limit,
        shown=lex.shown.search(delexed) is not None,
    )


def _status(delexed: str, hosts: bool) -> str | None:
    """The node status a question names; "critical" is one only when it is about the nodes
    ("which pis are critical"), else it is an anomaly's severity ("any critical alerts")."""
    status = next((name for name, p in lexicon().status if p.search(delexed)), None)
    return None if status == "critical" and not hosts else status


def _limit(text: str) -> int | None:
    """How many of a ranking the question asks for ("top 3", "the two warmest rooms")."""
    lex = lexicon()
    found = lex.limit.search(text)
    if found is None:
        return None
    said = (found.group("count") or found.group("count2")).lower()
    return int(said) if said.isdigit() else lex.count_words.get(" ".join(said.split()))


def _severity(text: str) -> str | None:
    """The severity a question keeps: the one it names ("warning-level ones", "only the
    criticals"), else the other when it names one only to leave it out ("not critical",
    "non-critical", "excluding warnings"); None when it keeps both or names neither."""
    lex = lexicon()
    kept: list[str] = []
    dropped: set[str] = set()
    for name, pattern in lex.severity_inside:
        for m in pattern.finditer(text):
            if lex.negated.search(text, 0, m.start()):
                dropped.add(name)
            elif name not in kept:
                kept.append(name)
    if kept:
        return kept[0] if len(kept) == 1 else None
    others = [name for name, _ in lex.severity if name not in dropped]
    return others[0] if dropped and len(others) == 1 else None


def _order(text: str) -> str | None:
    """ "high" or "low" end of a ranking, by which word comes first."""
    lex = lexicon()
    return first_match(tuple(lex.order.items()), text)
