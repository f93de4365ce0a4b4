"""Built-in language understanding: a question (and the thread's focus) to a `Plan`.

    question ─► clauses ─► slots (names from the catalog, time, unit, statistic, filters)
                             │ the clause with them taken out
                             ▼
                   intent classifier (every intent scored) ─► follow-up? merge with focus
                                                              ─► plan builder ─► tool calls

Deterministic and fast. A question that asks two things ("how many sensors are there, and
how many locations?") is answered clause by clause, each later clause a follow-up of the one
before. A follow-up ("and the humidity?", "what about pi-node-2?", "compare with yesterday")
keeps what the thread's previous question was about and changes only what the new one names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, tzinfo
from typing import Any

from agent_bruno.agent.nlu.classifier import load_model
from agent_bruno.agent.nlu.intents import IntentSpec, intents
from agent_bruno.agent.nlu.periods import compared_periods
from agent_bruno.agent.nlu.plan import Plan, PlannedCall, plan_dict
from agent_bruno.agent.nlu.plans import PLANS, unknown_plan
from agent_bruno.agent.nlu.reading import TurnReading, scores_of, slots_of
from agent_bruno.agent.nlu.request import Request
from agent_bruno.agent.nlu.slots import Slots
from agent_bruno.agent.nlu.status_plans import counted_right_after_cue
from agent_bruno.agent.nlu.vocabulary import Vocabulary

# Intents whose question is about one subject: said without one, it is the thread's subject.
SUBJECT_INTENTS = frozenset({"current", "stats", "series", "unit_info", "diagnosis", "raw"})
# Intents that answer about values over a range; a follow-up keeps the range.
RANGED_INTENTS = frozenset({"current", "stats", "series", "rank", "compare", "anomalies", "count"})
# A clause that asks: starts like a question or request, or ends with a question mark.
_ASKS = re.compile(
    r"^\W*(?:how|what|what's|whats|which|when|where|why|who|is|are|was|were|did|does|do|has"
    r"|have|had|can|could|would|will|should|tell|show|give|list|plot|graph|chart|compare"
    r"|rank|count|any|and|also|then|plus|but|only|just|same|now|check|find|get|let|please"
    r"|diagnose|explain|alert|notify|remind|snooze|mute|record|log|note"
    r"|y|r|wat|wht|hw)\b",
    re.I,
)
_SPLIT = re.compile(
    r"(?<=[?!;])\s+(?=\S)|(?<=\.)\s+(?=[A-Za-z])"
    r"|,?\s+(?:and|but|also|plus|then)\s+(?=(?:also\s+)?(?:how|what|what's|whats|which|when"
    r"|where|why|is|are|was|were|did|does|do|has|have|can|could|tell|show|give|list)\b)"
    r"|,\s+(?=(?:how|what|what's|whats|which|when|where|why)\b)"
    r"|\s+and\s+(?=(?:also\s+)?in\s+(?:fahrenheit|celsius|kelvins?|inhg|mmhg|hpa|kpa|mbar"
    r"|millibars?|inches of mercury|°[fck]|f|c|k)\b)",
    re.I,
)
# A runner-up this close to an unsure winner is named in the answer, so the asker can say
# which was meant.
CLOSE_MARGIN = 0.08
CLOSE_TOP = 0.35
# How far below an intent the slots tell against another may score and still be chosen.
AGAINST_MARGIN = 0.2
MAX_CLAUSES = 3
FOCUS_KEYS = ("metrics", "locations", "nodes", "sensors")
MAX_SHOWN = 4  # places a thread remembers having shown side by side
# What a clause pointing back at the places just shown ("which of the two is higher?") asks:
# them side by side on the metric just used, whatever else the classifier read into it.
SHOWN_INTENTS = frozenset({"rank", "current", "compare", "follow_up", "stats"})


def clauses(question: str) -> list[str]:
    """The questions inside `question`; statements around them are kept with the nearest."""
    parts = [p.strip() for p in _SPLIT.split(" ".join(question.split())) if p and p.strip()]
    asks: list[str] = []
    context: list[str] = []
    for part in parts:
        if _ASKS.search(part) or part.endswith("?"):
            asks.append(" ".join([*context, part]))
            context = []
        else:
            context.append(part)
    if context:
        if asks:
            asks[-1] = " ".join([asks[-1], *context])
        else:
            asks.append(" ".join(context))
    if len(asks) > MAX_CLAUSES:
        asks = [*asks[: MAX_CLAUSES - 1], " ".join(asks[MAX_CLAUSES - 1 :])]
    return asks or [question]


_SENTENCE = re.compile(r"(?<=[?!.;])\s+(?=\S)")


def asking_part(text: str) -> str:
    """A clause up to its last asking sentence: what the intent is read from. Statements after
    it are afterthoughts ("… over the past 7 days? We're deciding whether we need better
    ventilation in there."), read for slots only; statements before it often set the question
    up ("I need the lowest pressure in the warehouse. Can you find it?") and are kept."""
    parts = [p for p in _SENTENCE.split(text) if p.strip()]
    asking = [i for i, p in enumerate(parts) if _ASKS.search(p) or p.rstrip().endswith("?")]
    if not asking or asking[-1] == len(parts) - 1:
        return text
    return " ".join(parts[: asking[-1] + 1])


def classify(slots: Slots, reading: TurnReading | None = None) -> list[tuple[str, float]]:
    """Every intent with its probability for this clause, best first."""
    return scores_of(slots, reading)


def _backed(intent: str, slots: Slots, focus: Mapping[str, Any]) -> bool | None:
    """Whether the clause's slots back an intent (True), tell against it (False) or say
    nothing (None): "how many sensors" backs a count; a ranking needs a metric or an order."""
    if intent == "count":
        return bool(counted_right_after_cue(slots.text))
    if intent == "rank":
        return bool(slots.order or slots.mentions.metrics or slots.hosts)
    if intent == "follow_up":  # a thread to follow, and nothing new named but its subject
        return bool(focus) and (slots.pronoun or not slots.place_named)
    if intent == "stats":
        return True if slots.aggregates else None
    if intent == "current" and slots.aggregates and slots.span:
        return False  # a statistic over a range is not the latest value
    return None


def _weighed(ranked: list[tuple[str, float]], slots: Slots, focus: Mapping[str, Any]) -> str:
    """The intent, the classifier's and the slots' evidence weighed: among intents scored
    within `CLOSE_MARGIN` of the best (`AGAINST_MARGIN` when the slots tell against the best),
    one the slots back wins over one they do not."""
    top, best = ranked[0]
    verdict = _backed(top, slots, focus)
    if verdict:
        return top
    margin = AGAINST_MARGIN if verdict is False else CLOSE_MARGIN
    close = [n for n, p in ranked[1:] if best - p < margin]
    backed = [n for n in close if _backed(n, slots, focus)]
    if backed:
        return backed[0]
    if verdict is False:
        return next((n for n in close if _backed(n, slots, focus) is None), top)
    return top


def _follows(intent: str, slots: Slots, focus: Mapping[str, Any]) -> bool:
    """Whether the clause continues the thread's subject rather than starting a new one."""
    if not focus or intents()[intent].plan == "unsupported" or intent in ("help", "overview"):
        return False
    if intent == "follow_up" or slots.target is not None or slots.shift is not None:
        return True
    if slots.pronoun and not slots.place_named:
        return True
    if slots.shown and len(focus.get("shown") or []) >= 2 and not slots.place_named:
        return True  # "which of the two is higher?": of the places just shown
    if intent == "count" and not slots.named and focus.get("intent") in ("anomalies", "count"):
        return True  # "how many were critical?": of what was just listed
    return intent in SUBJECT_INTENTS and not slots.named


def _follow_up_intent(focus: Mapping[str, Any], slots: Slots) -> str:
    """What a fragment ("and the humidity?", "and the minimum?") asks, given the thread."""
    previous = str(focus.get("intent") or "current")
    if slots.aggregates and previous in ("current", "compare_time"):
        return "stats"
    if slots.mentions.metrics and previous in (
        "health",
        "workloads",
        "overview",
        "help",
        "inventory",
        "unit_info",
    ):
        return "current"
    return previous


def _names(slots: Slots) -> dict[str, list[str]]:
    m = slots.mentions
    return {
        "metrics": list(m.metrics),
        "locations": list(m.locations),
        "nodes": list(m.nodes),
        "sensors": list(m.sensors),
    }


def _places(names: Mapping[str, list[str]]) -> list[list[str]]:
    """The places a clause is about, as [kind, name] pairs (JSON-ready, for the focus)."""
    return [["node", n] for n in names["nodes"]] or [["location", p] for p in names["locations"]]


def _shown(
    focus: Mapping[str, Any], names: dict[str, list[str]], slots: Slots, follow: bool
) -> list[list[str]]:
    """The places the thread has shown side by side: a follow-up that only moves to another
    place on the same metric ("ok and the server room?") adds it to those shown before."""
    here = _places(names)
    before = [list(p) for p in focus.get("shown") or []]
    moved = follow and here and not slots.mentions.metrics and not slots.shown
    if not moved or not before or before[0][0] != here[0][0]:
        return here
    return [p for p in before if p not in here][-(MAX_SHOWN - len(here)) :] + here


def _point_back(names: dict[str, list[str]], shown: list[list[str]]) -> None:
    """Make the clause about the places just shown ("which of the two ...")."""
    kind = "nodes" if shown[0][0] == "node" else "locations"
    names.update(locations=[], nodes=[], sensors=[])
    names[kind] = [name for _, name in shown]


def _merge(focus: Mapping[str, Any], names: dict[str, list[str]]) -> dict[str, list[str]]:
    """A follow-up's names over the thread's: a new place replaces the old one whole."""
    merged = {k: list(focus.get(k) or []) for k in FOCUS_KEYS}
    if names["locations"] or names["nodes"]:
        merged.update(locations=names["locations"], nodes=names["nodes"], sensors=[])
    if names["sensors"]:
        merged["sensors"] = names["sensors"]
    if names["metrics"]:
        merged["metrics"] = names["metrics"]
    return merged


def understand_clause(
    text: str,
    focus: Mapping[str, Any] | None,
    vocab: Vocabulary,
    now: float,
    tz: tzinfo,
    *,
    forge: bool = False,
    reading: TurnReading | None = None,
) -> Plan:
    """The plan of one clause (`reading`: what this turn has read of it already)."""
    focus = focus or {}
    slots = slots_of(text, vocab, now, tz, reading)
    ask = asking_part(text)
    ranked = classify(slots if ask == text else slots_of(ask, vocab, now, tz, reading), reading)
    if ranked[0][0] == "help" and slots.named:  # names in it: a data question put oddly
        ranked = [r for r in ranked if r[0] != "help"] + [r for r in ranked if r[0] == "help"]
    intent = _weighed(ranked, slots, focus)
    fragment = intent == "follow_up"
    follow = _follows(intent, slots, focus)
    names = _names(slots)
    span, unit = slots.span, slots.unit
    aggregates, severity = list(slots.aggregates), slots.severity
    counting, status = list(slots.counting), slots.status
    limit = slots.limit
    if intent == "follow_up" and follow:
        intent = _follow_up_intent(focus, slots)
    elif intent == "follow_up":
        # Nothing to follow: the clause's best reading as a question of its own (a preamble
        # such as "we are moving racks around." looks like a fragment to the classifier).
        own = [n for n, _ in ranked if n not in ("follow_up", "help")]
        intent = own[0] if slots.named and own else "help"
    if follow:
        names = _merge(focus, names)
        shown = [list(p) for p in focus.get("shown") or []]
        if slots.shown and len(shown) >= 2 and not slots.place_named:
            _point_back(names, shown)
            if intent in SHOWN_INTENTS:
                intent = "compare"
        if span is None and not slots.now and intent in RANGED_INTENTS:
            span = focus.get("span")
            if slots.shift and span:
                span = _shifted(span, slots.shift)
        if unit is None and not slots.mentions.metrics:
            unit = focus.get("unit")
        if fragment or intent == focus.get("intent"):
            limit = limit or focus.get("limit")
            aggregates = aggregates or list(focus.get("aggregates") or [])
            severity = severity or focus.get("severity")
            counting = counting or list(focus.get("counting") or [])
            status = status or focus.get("status")
        if intent == "count" and not counting:
            counting = {"anomalies": ["anomalies"], "health": ["nodes"]}.get(
                str(focus.get("intent")), list(focus.get("counting") or [])
            )
            severity = severity or focus.get("severity")
    spec = intents()[intent]
    asked, target = span, slots.target
    if target is not None and span is None and not slots.now:
        asked, target = compared_periods(target, now, tz)  # "compare with yesterday"
    runner_up = next(((n, p) for n, p in ranked if n not in (intent, "follow_up")), None)
    request = Request(
        intent=intent,
        text=slots.text,
        metrics=names["metrics"],
        locations=names["locations"],
        nodes=names["nodes"],
        sensors=names["sensors"],
        span=asked,
        target=target,
        unit=unit,
        aggregates=aggregates,
        order=slots.order,
        severity=severity,
        status=status,
        counting=counting,
        hosts=slots.hosts,
        limit=limit,
        implied_metric=slots.mentions.implied_metric and not follow,
        now=now,
        forge=forge,
    )
    new_focus = {
        "intent": intent,
        **names,
        "span": span,
        "unit": unit,
        "aggregates": aggregates,
        "severity": severity,
        "counting": counting,
        "status": status,
        "limit": limit,
        "shown": _shown(focus, names, slots, follow),
    }
    if slots.mentions.unknown:
        return unknown_plan(slots.mentions.unknown[0], request, new_focus)
    builder = spec.plan
    if slots.target is not None and builder in ("current", "stats", "series", "compare"):
        builder = "compare_time"
    plan = PLANS[builder](request, spec)
    hints = dict(plan.hints)
    hints["scores"] = [[n, round(p, 3)] for n, p in ranked[:3]]
    if slots.mentions.corrected:
        hints["corrected"] = [list(c) for c in slots.mentions.corrected]
    if (
        runner_up
        and ranked[0][1] < CLOSE_TOP
        and ranked[0][1] - runner_up[1] < CLOSE_MARGIN
        and not follow
        and _other_tools(plan, request, intents()[runner_up[0]])
    ):
        hints["close"] = runner_up[0]
    focus_after = {**new_focus, **plan.focus}
    return Plan(plan.intent, plan.calls, focus_after, hints)


def _other_tools(plan: Plan, request: Request, other: IntentSpec) -> bool:
    """Whether the runner-up intent would have looked somewhere else entirely (different
    tools), so that naming it can help; a count and a list of anomalies read the same data."""
    if other.plan in ("unsupported", "follow_up"):
        return False
    theirs = PLANS[other.plan](request, other)
    return not {c.name for c in plan.calls} & {c.name for c in theirs.calls}


def _same_answer(a: Plan, b: Plan) -> bool:
    """Whether two clauses would be answered the same (same calls, unit and statistics)."""
    keys = ("unit", "aggregates", "severity", "status", "counting")
    return (a.intent, a.calls) == (b.intent, b.calls) and all(
        a.hints.get(k) == b.hints.get(k) for k in keys
    )


def _shifted(span: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """The same-width range `seconds` earlier ("and the day before?")."""
    label = "the day before" if seconds == 86_400.0 else "the week before"
    if span.get("label") == "yesterday" and seconds == 86_400.0:
        label = "the day before yesterday"
    return {"start": span["start"] - seconds, "end": span["end"] - seconds, "label": label}


def understand(
    question: str,
    focus: Mapping[str, Any] | None,
    vocab: Vocabulary,
    now: float,
    tz: tzinfo,
    *,
    forge: bool = False,
    reading: TurnReading | None = None,
) -> Plan:
    """The tool calls that answer `question`, and how to present them (`reading`: what this
    turn has read of the question already, and keeps what is read now)."""
    parts = clauses(question)
    plans: list[Plan] = []
    current = focus
    for part in parts:
        plan = understand_clause(part, current, vocab, now, tz, forge=forge, reading=reading)
        current = plan.focus
        if any(_same_answer(p, plan) for p in plans):
            continue  # "show me X … and tell me if it looks normal": answered once
        plans.append(plan)
    if len(plans) == 1:
        return plans[0]
    calls: list[PlannedCall] = [c for p in plans for c in p.calls]
    hints = {"parts": [plan_dict(p) for p in plans], "question": " ".join(question.split())}
    return Plan("multi", tuple(calls), dict(plans[-1].focus), hints)


def intent_of(
    question: str,
    vocab: Vocabulary,
    now: float,
    tz: tzinfo,
    reading: TurnReading | None = None,
) -> str:
    """The intent of the question's first clause, as the classifier scores it: how a capability
    beside the agent (the alert desk) learns that a sentence is its own. What it reads is kept
    in `reading` for the turn's understanding."""
    slots = slots_of(asking_part(clauses(question)[0]), vocab, now, tz, reading)
    return classify(slots, reading)[0][0]


def warm_up() -> None:
    """Read the model, intents and lexicon and compile their patterns now (at start-up), so
    the first question is as fast as any and a broken model file stops the start, saying why."""
    load_model()
    intents()
    understand("what's the temperature in the warehouse?", None, Vocabulary(), 0.0, UTC)
