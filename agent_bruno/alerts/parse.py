"""Sentences to alert rules, pure: "Alert me if humidity drops below 30% for 10 minutes".

`understand(text, vocab)` returns what it understood: a rule (with notes on what it inferred),
a question (what it cannot infer from the words: which metric, what it should do), or a
refusal (what it cannot do, and what it can). Names come from the catalog through the agent's
slot extraction, so a rule only names places, nodes and sensors that exist. Which of several
places a rule means is asked after this, with the stored series at hand (`scoping.which`).
Management sentences ("stop the humidity alert", "snooze it for 2 hours") are `commands`'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from agent_bruno.agent.nlu.extract import Mentions, extract
from agent_bruno.agent.nlu.units import UnitError, convert
from agent_bruno.agent.nlu.vocabulary import Vocabulary
from agent_bruno.alerts.model import (
    AnyRule,
    EpisodeRule,
    NodeRule,
    RateRule,
    Scope,
    SilentRule,
    ThresholdRule,
    describe,
)
from agent_bruno.alerts.subscription import ChannelKind

# Default hysteresis per metric: a value hovering at the line must move this far back to resolve.
HYSTERESIS = {
    "temperature": 0.5,
    "humidity": 2.0,
    "pressure": 1.0,
    "co2": 50.0,
    "cpu_percent": 5.0,
    "memory_percent": 5.0,
    "disk_percent": 2.0,
    "soc_temp_c": 2.0,
    "load_1m": 0.2,
}
_WORD_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "ten": 10,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "half an": 0.5,
    "half a": 0.5,
}
_UNIT_S = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86_400,
    "day": 86_400,
    "week": 604_800,
}
_NUM = r"(?P<n>\d+(?:\.\d+)?|half an?|an?|one|two|three|four|five|six|ten|fifteen|twenty|thirty)"
_DUR_UNIT = r"(?P<u>seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?)"
DURATION = re.compile(rf"{_NUM}\s*-?\s*{_DUR_UNIT}(?![\w-])", re.I)
_HOLD = re.compile(
    rf"(?:for|lasting|longer than|sustained for)\s+(?:at least\s+|more than\s+|over\s+)?"
    rf"{_NUM}\s*-?\s*{_DUR_UNIT}(?![\w-])",
    re.I,
)
_UNIT_WORD = r"(?P<unit>%|percent|°\s*[cf]|degrees?\s*[cf]?|deg\s*[cf]|[cf](?![\w])|ppm|hpa|mbar)"
_BELOW = (
    r"below|under|less than|lower than|beneath|<=?|drops? (?:below|under|to)"
    r"|falls? (?:below|under|to)"
)
_ABOVE = (
    r"above|over|more than|higher than|greater than|exceeds?|>=?|tops|goes above|rises? above"
    r"|climbs? above|gets above|reaches|hits"
)
_THRESHOLD = re.compile(
    rf"(?P<op>{_BELOW}|{_ABOVE})\s*(?P<v>-?\d+(?:\.\d+)?)\s*{_UNIT_WORD}?",
    re.I,
)
_RISE = r"warms?|heats? up|gets? warmer|rises?|increases?|climbs?|jumps?|goes up|spikes?"
_FALL = r"cools?|gets? colder|drops?|falls?|decreases?|goes down|dips?"
_RATE = re.compile(
    rf"(?P<dir>{_RISE}|{_FALL})\s+(?:by\s+)?(?:more than\s+|over\s+|at least\s+)?"
    rf"(?P<v>\d+(?:\.\d+)?)\s*{_UNIT_WORD}?\s+(?:in|within|over|inside)\s+(?:less than\s+)?"
    rf"(?:(?:the\s+)?(?:last|past)\s+)?{_NUM}\s*-?\s*{_DUR_UNIT}(?![\w-])",
    re.I,
)
_OFFLINE = re.compile(
    r"offline|goes down|go down|is down|stops? responding|unreachable|dies|disconnect\w*"
    r"|stops? (?:sending )?heartbeats?|drops? off",
    re.I,
)
_UNHEALTHY = re.compile(
    r"unhealthy|not healthy|in trouble|degraded|health (?:warning|problem)", re.I
)
_SILENT = re.compile(
    r"silent|goes quiet|go quiet|stops? (?:reporting|sending)|no data|stops? working|goes dark",
    re.I,
)
_EPISODE = re.compile(
    r"anomal\w*|critical\s+(?:alerts?|readings?|events?|problems?|issues?)|glitch\w*|faults?"
    r"|sensor (?:faults?|failures?|errors?)|warnings?|flagged|anything (?:odd|unusual|wrong)",
    re.I,
)
_CRITICAL = re.compile(r"(?<![\w-])critical|severe|serious", re.I)
_FAULTS = re.compile(r"sensor (?:faults?|failures?|errors?)|faults?|broken sensor|glitch\w*", re.I)
_PROCESS = re.compile(r"process anomal\w*|real anomal\w*", re.I)
_WANTS_ALERT = re.compile(
    r"(?<![\w-])(?:(?:alert|notify|page|ping|warn|message|text|e-?mail|wake|remind)\s+(?:me|us"
    r"|the team|on-?call)|(?:tell|inform|let)\s+(?:me|us)\s+(?:know\s+)?(?:when|if|whenever"
    r"|as soon as|once|in case|about|on)|send (?:me|us) an? (?:alert|message)"
    r"|subscribe(?: me)?|set up an? alert|create an? alert|i want (?:an? )?alerts?)(?![\w-])",
    re.I,
)
_WHEN = re.compile(r"(?<![\w-])(?:if|when|whenever|once|as soon as|should|in case)(?![\w-])", re.I)
_CHANNELS: tuple[tuple[ChannelKind, re.Pattern[str]], ...] = (
    ("pagerduty", re.compile(r"pager\s*duty|(?<![\w-])page (?:me|us|on-?call)", re.I)),
    ("slack", re.compile(r"(?<![\w-])(?:on|in|via|to) slack|slack (?:me|us|channel)", re.I)),
    ("webhook", re.compile(r"webhook", re.I)),
    ("alertmanager", re.compile(r"alert\s*manager", re.I)),
)
_UNSUPPORTED = re.compile(
    r"(?<![\w-])(?:sms|text message|phone call|call me|e-?mail|telegram|discord|teams|whatsapp"
    r"|signal app)(?![\w-])",
    re.I,
)
_UNIT_OF_WORD = {"%": "%", "percent": "%", "ppm": "ppm", "hpa": "hPa", "mbar": "mbar"}


@dataclass(frozen=True, slots=True)
class Understood:
    """What a sentence asks for: a rule, or a question, or a refusal (exactly one is set)."""

    rule: AnyRule | None = None
    question: str | None = None
    refusal: str | None = None
    channel: ChannelKind | None = None  # the channel the sentence names, if any
    notes: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()

    def words(self) -> str:
        """The rule in words, or the question, or the refusal."""
        if self.rule is not None:
            return describe(self.rule)
        return self.question or self.refusal or ""


def _number(word: str) -> float:
    w = word.lower().strip()
    if w in _WORD_NUMBERS:
        return float(_WORD_NUMBERS[w])
    return float(w)


def _seconds(n: str, unit: str) -> float:
    u = unit.lower().rstrip("s") or "s"
    if u not in _UNIT_S:
        u = {"mi": "min", "hr": "hr"}.get(u, u)
    return _number(n) * _UNIT_S.get(u, 60)


def parse_duration(text: str) -> float | None:
    """The first duration in `text` in seconds ("2 hours", "30 min", "half an hour")."""
    m = DURATION.search(text)
    return None if m is None else _seconds(m.group("n"), m.group("u"))


def _unit_of(word: str | None) -> str | None:
    """The unit a number was written with ("%", "°C", "°F"), None when none was."""
    if not word:
        return None
    w = re.sub(r"\s+", "", word.lower())
    if w in _UNIT_OF_WORD:
        return _UNIT_OF_WORD[w]
    if w.endswith("f"):
        return "°F"
    if w.endswith("c") or w.startswith(("deg", "°")):
        return "°C"
    return None


def _scope(m: Mentions, vocab: Vocabulary) -> Scope:
    node = m.nodes[0] if m.nodes else None
    sensor = m.sensors[0] if m.sensors else None
    location = m.locations[0] if m.locations else None
    return Scope(location=location, node=node, sensor=sensor)


def _channel(text: str) -> ChannelKind | None:
    for kind, pattern in _CHANNELS:
        if pattern.search(text):
            return kind
    return None


def _value_in_unit(
    value: float, written: str | None, metric: str, vocab: Vocabulary, notes: list[str]
) -> tuple[float, str]:
    """The threshold in the unit the metric is stored in."""
    stored = vocab.units.get(metric, "")
    if written is None or written == stored or not stored:
        return value, stored or (written or "")
    try:
        converted = round(convert(value, written, stored), 2)
    except UnitError:
        return value, stored
    notes.append(f"{value:g} {written} is {converted:g} {stored}, the unit {metric} is stored in")
    return converted, stored


_PLACE_BEFORE_METRIC = re.compile(
    r"(?<![\w-])(?:the|my|our)\s+([a-z][\w-]*)\s+(?:temperature|temp|humidity|co2|pressure"
    r"|motion|sensor|node|pi)(?![\w-])",
    re.I,
)
_NOT_PLACE_WORDS = frozenset(
    "current average room air indoor outdoor ambient relative same other any every each new humidity temperature co2 pressure".split()  # noqa: SIM905, E501 - a word list reads better as text
)


def _unknown_names(text: str, m: Mentions, vocab: Vocabulary) -> str | None:
    for u in m.unknown:
        if u.kind in ("location", "node"):
            return f"I don't know a {u.kind} called {u.name!r}"
    known = {w.lower() for w in (*vocab.locations, *vocab.nodes, *vocab.sensors)}
    for found in _PLACE_BEFORE_METRIC.finditer(text):
        word = found.group(1).lower()
        if word not in known and word not in _NOT_PLACE_WORDS and not m.locations:
            return f"I don't know a location called {word!r}"
    return None


def understand(text: str, vocab: Vocabulary) -> Understood:
    """A subscription sentence to a rule, a question or a refusal."""
    m = extract(text, vocab)
    channel = _channel(text)
    notes: list[str] = []
    unknown = _unknown_names(text, m, vocab)
    if unknown:
        places = ", ".join(vocab.locations) or "none yet"
        return Understood(
            refusal=f"{unknown}, so I can't watch it. Known locations: {places}.",
            channel=channel,
        )
    if _UNSUPPORTED.search(text) and channel is None:
        return Understood(
            refusal="I can deliver alerts to Slack, PagerDuty, a webhook or an Alertmanager, "
            "not by that channel. Say e.g. 'on slack', or leave it out to use the default.",
        )
    scope = _scope(m, vocab)
    metric = m.metrics[0] if m.metrics else None
    if len(m.metrics) > 1:
        return Understood(
            question=f"One rule watches one metric: {' or '.join(m.metrics)}? "
            "Ask for one subscription per metric.",
            channel=channel,
            choices=tuple(m.metrics),
        )
    critical = bool(_CRITICAL.search(text))
    severity: Literal["warning", "critical"] = "critical" if critical else "warning"
    if channel == "pagerduty" and not critical:
        severity = "critical"
        notes.append("paging implies critical severity")
    rate = _RATE.search(text)
    if (
        rate
        and metric is None
        and re.match(r"warm|heat|cool|gets? (?:warm|cold)", rate["dir"], re.I)
    ):
        metric = "temperature"
    if rate and metric:
        rising = re.match(_RISE, rate.group("dir"), re.I) is not None
        delta, unit = _value_in_unit(
            float(rate.group("v")), _unit_of(rate.group("unit")), metric, vocab, notes
        )
        if unit == "°C" and _unit_of(rate.group("unit")) == "°F":
            delta = round(float(rate.group("v")) * 5 / 9, 2)  # a difference, not a reading
        window = _seconds(rate.group("n"), rate.group("u"))
        rule: AnyRule = RateRule(
            metric=metric,
            direction="rise" if rising else "fall",
            delta=delta,
            window_s=window,
            unit=unit,
            severity=severity,
            scope=scope,
        )
        return Understood(rule=rule, channel=channel, notes=tuple(notes))
    threshold = _THRESHOLD.search(text)
    if threshold and metric:
        op_word = threshold.group("op").lower()
        below = re.fullmatch(_BELOW, op_word, re.I) is not None
        value, unit = _value_in_unit(
            float(threshold.group("v")), _unit_of(threshold.group("unit")), metric, vocab, notes
        )
        hold = _HOLD.search(text)
        hold_s = _seconds(hold.group("n"), hold.group("u")) if hold else 0.0
        band = HYSTERESIS.get(metric, 0.0)
        if band:
            notes.append(
                f"it resolves only once {'above' if below else 'below'} "
                f"{value + band if below else value - band:g}{'' if unit == '%' else ' '}{unit}, "
                "so a value hovering at the line does not flap"
            )
        rule = ThresholdRule(
            metric=metric,
            op="below" if below else "above",
            value=value,
            hold_s=hold_s,
            hysteresis=band,
            unit=unit,
            severity=severity,
            scope=scope,
        )
        return Understood(rule=rule, channel=channel, notes=tuple(notes))
    if threshold and not metric:
        return Understood(
            question=f"{threshold.group(0).strip()} of what? Name the metric, e.g. "
            f"'humidity {threshold.group(0).strip()}'. Stored metrics: {', '.join(vocab.metrics)}.",
            channel=channel,
            choices=tuple(vocab.metrics),
        )
    if _SILENT.search(text):
        after = _HOLD.search(text)
        rule = SilentRule(
            metric=metric,
            after_s=_seconds(after.group("n"), after.group("u")) if after else 900.0,
            severity=severity,
            scope=scope,
        )
        return Understood(rule=rule, channel=channel, notes=tuple(notes))
    if _OFFLINE.search(text) or _UNHEALTHY.search(text):
        condition: Literal["offline", "unhealthy"] = (
            "offline" if _OFFLINE.search(text) else "unhealthy"
        )
        rule = NodeRule(condition=condition, scope=scope.model_copy(update={"sensor": None}))
        return Understood(rule=rule, channel=channel, notes=tuple(notes))
    if _EPISODE.search(text) or critical:
        kind: Literal["any", "sensor_fault", "process_anomaly"] = "any"
        if _PROCESS.search(text):
            kind = "process_anomaly"
        elif _FAULTS.search(text):
            kind = "sensor_fault"
        rule = EpisodeRule(min_severity=severity, episode_kind=kind, metric=metric, scope=scope)
        return Understood(rule=rule, channel=channel, notes=tuple(notes))
    if metric:
        return Understood(
            question=f"What should {metric} do to alert you? E.g. 'if {metric} drops below 30', "
            f"'if {metric} rises by 5 in 10 minutes', or 'on critical {metric} anomalies'.",
            channel=channel,
        )
    return Understood(
        refusal="I can alert on a metric crossing a value ('humidity below 30%'), a rate of "
        "change ('warms by 3 °C in 10 minutes'), a node going offline, a sensor going silent, "
        "or anomalies ('critical anomalies in warehouse-b'); I could not tell which you meant.",
        channel=channel,
    )


def looks_like_new_rule(text: str) -> bool:
    """Whether a sentence sets up a new rule rather than changing one."""
    return bool(_WANTS_ALERT.search(text) and _WHEN.search(text))
