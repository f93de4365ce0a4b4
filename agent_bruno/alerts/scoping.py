"""Which series a rule means, pure: "Alert me if humidity drops below 30%" with humidity in three
places asks which one instead of silently picking one or watching all.

A threshold or rate rule is **ambiguous** when the stored series it would watch (its metric,
inside its scope) are in more than one place (cluster and location, each node at its newest
location) and the sentence did not say it means all of them ("any", "all", "anywhere",
"every", "each" …). It is not ambiguous when:

- one sensor, or several sensors in one place, match (a place's sensors are each watched);
- the sentence names a location, a node, or a sensor that exists in one place only;
- nothing of the metric is stored yet (the rule then watches whatever appears, and says so).

Node, silence and anomaly rules never ask: "a sensor goes silent" and "critical anomalies"
read naturally as "any"; nor do rules on the nodes' own health metrics ("if CPU goes above
90%"), which, like node rules, watch every node unless one is named. The question lists the
places with their sensors; an answer naming one of them ("the warehouse", "pi-node-3",
"dht22-4") or meaning all ("any of them", "all") completes the rule (`answer`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent_bruno.agent.nlu.extract import extract
from agent_bruno.agent.nlu.vocabulary import Vocabulary, squash
from agent_bruno.alerts.model import AnyRule, RateRule, Scope, ThresholdRule
from agent_bruno.health import HEALTH_METRICS
from agent_bruno.storage.base import CatalogRow

MAX_CHOICES = 12
# Words that say "every series of the metric" ("alert me if humidity anywhere drops …").
ANY_WORDS = re.compile(
    r"(?<![\w-])(?:any|anywhere|all|every|everywhere|each|either|both|whichever|wherever"
    r"|all of them|any of them|any one|anyone)(?![\w-])",
    re.I,
)
# A short answer to "which …?": a place or "any", surrounded by these words at most.
_FILLER = re.compile(
    r"(?<![\w-])(?:the|in|at|on|one|ones|please|i|mean|meant|just|only|sensors?|of|them|those"
    r"|these|place|places|locations?|node|nodes|pi|watch|use|it|yes|yeah|ok|okay|go|with"
    r"|for|that|this|a|an|there|thanks|thank|you|let's|lets|say|said|humidity"
    r"|temperature|co2|pressure|metric|series|ones|over|from)(?![\w-])",
    re.I,
)
_QUESTION_START = re.compile(
    r"^\s*(?:what|how|why|when|where|who|show|list|tell|give|did|does|do|is|are|was|were|can"
    r"|could|would|should|alert|notify|page|ping|stop|snooze|make|change|delete|remove)(?![\w-])",
    re.I,
)
_CANCEL = re.compile(
    r"\s*(?:oh\s+)?(?:never\s*mind|nevermind|cancel(?: it| that)?|forget (?:it|that|about it)"
    r"|none(?: of them)?|no|nope|skip it|leave it|don't bother)"
    r"(?:[\s,]+(?:then|please|thanks|thank you))?\s*[.!]*\s*",
    re.I,
)
MAX_ANSWER_WORDS = 8


@dataclass(frozen=True, slots=True)
class Place:
    """Where some of the metric's series are: a location and the sensors there."""

    cluster: str
    location: str
    sensors: tuple[tuple[str, str], ...]  # (node, sensor), sorted

    def label(self) -> str:
        """ "server-room (dht22-1 on pi-node-3)"."""
        held = ", ".join(f"{s} on {n}" for n, s in self.sensors)
        return f"{self.location} ({held})"

    def scope(self, base: Scope) -> Scope:
        """The rule's scope narrowed to this place."""
        return base.model_copy(update={"location": self.location})


@dataclass(frozen=True, slots=True)
class Which:
    """A rule waiting for its scope: the question and the places it offers."""

    question: str
    places: tuple[Place, ...]

    def choices(self) -> tuple[str, ...]:
        """The places as labels, for the API's `choices`."""
        return tuple(p.label() for p in self.places)

    def scopes(self, base: Scope) -> list[dict[str, str]]:
        """Each choice as the scope to send back (`scope` of POST /v1/subscriptions)."""
        return [p.scope(base).model_dump(mode="json", exclude_none=True) for p in self.places]


def places(metric: str, scope: Scope, rows: Sequence[CatalogRow]) -> list[Place]:
    """The places holding series of `metric` inside `scope`, each node at its newest location."""
    newest: dict[tuple[str, str], tuple[float, str]] = {}  # (cluster, node) → (ts, location)
    for r in rows:
        seen = newest.get((r.cluster, r.node))
        if seen is None or r.last_ts >= seen[0]:
            newest[(r.cluster, r.node)] = (r.last_ts, r.location)
    held: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for r in rows:
        if r.metric != metric:
            continue
        location = newest[(r.cluster, r.node)][1]
        if not scope.matches(r.cluster, location, r.node, r.sensor):
            continue
        if scope.sensor is not None and r.sensor != scope.sensor:
            continue
        held.setdefault((r.cluster, location), set()).add((r.node, r.sensor))
    return [
        Place(cluster, location, tuple(sorted(sensors)))
        for (cluster, location), sensors in sorted(held.items())
    ]


def which(rule: AnyRule, text: str, rows: Sequence[CatalogRow]) -> Which | None:
    """The question to ask before creating `rule` from `text`, or None when it is clear."""
    if not isinstance(rule, ThresholdRule | RateRule) or rule.metric in HEALTH_METRICS:
        return None
    scope = rule.scope
    if scope.location is not None or scope.node is not None:
        return None
    if ANY_WORDS.search(text):
        return None
    found = places(rule.metric, scope, rows)
    if len(found) <= 1:
        return None
    shown = found[:MAX_CHOICES]
    more = f" and {len(found) - len(shown)} more" if len(found) > len(shown) else ""
    listed = ", ".join(p.label() for p in shown)
    what = f"{rule.metric} sensor {scope.sensor}" if scope.sensor else rule.metric
    return Which(f"Which {what}? {listed}{more} — or say 'any' to watch all of them.", tuple(found))


def cancels(text: str) -> bool:
    """Whether a reply to "which …?" drops the request ("never mind", "cancel")."""
    return bool(_CANCEL.fullmatch(text))


def answer(text: str, rule: AnyRule, pending: Which, vocab: Vocabulary) -> Scope | None:
    """The scope a reply to `pending` gives `rule` ("the warehouse", "pi-node-3", "any of
    them"), or None when the reply is not such an answer (a new question, an unknown place)."""
    if len(text.split()) > MAX_ANSWER_WORDS or _QUESTION_START.match(text):
        return None
    base = rule.scope
    m = extract(text, vocab)
    named = [p for p in pending.places if p.location in m.locations]
    nodes = [p for p in pending.places if any(n in m.nodes for n, _ in p.sensors)]
    if len(named) == 1 and not nodes:
        return named[0].scope(base)
    if len(nodes) == 1 and not named and len(m.nodes) == 1:
        return base.model_copy(update={"node": m.nodes[0]})
    rest = " ".join(_FILLER.sub(" ", re.sub(r"[^\w\s-]", " ", text)).split())
    if not rest:
        return None
    if ANY_WORDS.fullmatch(rest) or rest.lower() in ("all of", "any of"):
        return base
    key = squash(rest)
    for p in pending.places:
        if squash(p.location) == key:
            return p.scope(base)
    holders = [(p, n, s) for p in pending.places for n, s in p.sensors if squash(s) == key]
    if len(holders) == 1:
        _, node, sensor = holders[0]
        return base.model_copy(update={"node": node, "sensor": sensor})
    return None


def looks_like_answer(text: str) -> bool:
    """Whether a reply is short enough, and not a question, to be taken as an answer."""
    return len(text.split()) <= MAX_ANSWER_WORDS and not _QUESTION_START.match(text)
