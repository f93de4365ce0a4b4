"""Management sentences, pure: "what am I subscribed to?", "stop the humidity alert", "snooze it
for 2 hours", "make it 25% instead", "how often would 28% have fired last week?".

`command` reads one into a `Managed` (the command, words naming the subscription, its
argument); `pick` finds the subscriptions those words name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from agent_bruno.alerts.parse import DURATION, looks_like_new_rule, parse_duration

Command = Literal["list", "stop", "snooze", "pause", "resume", "change", "backtest"]


@dataclass(frozen=True, slots=True)
class Managed:
    """A management sentence: the command, words naming the subscription, its argument."""

    command: Command
    target: str = ""  # words that pick the subscription ("humidity"); empty: the last one
    seconds: float | None = None  # snooze length
    value: float | None = None  # a new threshold
    window_s: float | None = None  # backtest range
    extra: dict[str, str] = field(default_factory=dict)


_LIST = re.compile(
    r"what am i subscribed|my (?:alerts|subscriptions)|list (?:my |the )?(?:alerts|subscriptions)"
    r"|which alerts (?:do i have|are set)|show (?:me )?(?:my )?(?:alerts|subscriptions)",
    re.I,
)
_STOP = re.compile(
    r"(?<![\w-])(?:stop|delete|remove|cancel|unsubscribe|drop|turn off|get rid of)(?![\w-])",
    re.I,
)
_SNOOZE = re.compile(r"(?<![\w-])(?:snooze|mute|silence)(?![\w-])", re.I)
_ABOUT_ALERTS = re.compile(
    r"(?<![\w-])(?:alerts?|subscriptions?|notifications?|rules?|it|them|that one)(?![\w-])", re.I
)
_PAUSE = re.compile(r"(?<![\w-])(?:pause|suspend|disable)(?![\w-])", re.I)
_RESUME = re.compile(r"(?<![\w-])(?:resume|unpause|re-?enable|unmute|reactivate)(?![\w-])", re.I)
_CHANGE = re.compile(
    r"(?:(?:make|change|set|move|lower|raise)\s+(?:it|that|the\s+[\w\s-]{1,40}?)\s+(?:to\s+)?"
    r"(?:(?:below|above|under|over)\s+)?(?P<v>-?\d+(?:\.\d+)?)"
    r"|(?P<w>-?\d+(?:\.\d+)?)\s*(?:%|°\s*[cf]|ppm)?\s+instead)",
    re.I,
)
_WHAT_IF = re.compile(
    r"how (?:often|many times) would\D{0,40}?(?P<v>-?\d+(?:\.\d+)?)\s*(?:%|°\s*[cf]|ppm)?"
    r"\D{0,20}?(?:have )?(?:fired|triggered|gone off|alerted)",
    re.I,
)
_RANGE = re.compile(
    r"(?:last|past|previous|over the last)\s+"
    r"(?:(?P<n>\d+|two|three|four|seven|fourteen|thirty)\s+)?(?P<u>hours?|days?|weeks?|months?)",
    re.I,
)
_RANGE_S = {"hour": 3600.0, "day": 86_400.0, "week": 604_800.0, "month": 2_592_000.0}
_SMALL = {"two": 2, "three": 3, "four": 4, "seven": 7, "fourteen": 14, "thirty": 30}
_TARGET_NOISE = re.compile(
    r"(?<![\w-])(?:stop|delete|remove|cancel|unsubscribe|drop|turn off|get rid of|snooze|mute"
    r"|silence|quiet|hush|pause|suspend|disable|resume|unpause|re-?enable|unmute|reactivate|the"
    r"|my|alert|alerts|subscription|subscriptions|rule|it|for|please|that|this|one|me|a|an"
    r"|notification|notifications|alerting|notifying|about|of|on)(?![\w-])",
    re.I,
)


def _range_s(text: str) -> float | None:
    m = _RANGE.search(text)
    if m is None:
        return None
    n = m.group("n")
    count = 1.0 if n is None else float(_SMALL.get(n.lower(), 0) or n)
    return count * _RANGE_S[m.group("u").lower().rstrip("s")]


def command(text: str, intent: str | None = None) -> Managed | None:
    """A management sentence ("stop the humidity alert", "snooze it for 2 hours"), or None.

    `intent` is what the agent's intent classifier read the sentence as; it settles sentences
    the words alone leave open: "which alerts have I set up?" (`alert_list`) lists, "stop
    alerting me about the co2" (`alert_snooze`) stops. A stop still needs its verb."""
    found = _command(text)
    if found is not None or intent is None:
        return found
    if intent == "alert_list":
        return Managed("list")
    if intent != "alert_snooze":
        return None
    if _SNOOZE.search(text):
        return Managed("snooze", _target(DURATION.sub(" ", text)), seconds=parse_duration(text))
    if _RESUME.search(text):
        return Managed("resume", _target(text))
    if _PAUSE.search(text):
        return Managed("pause", _target(text))
    if _STOP.search(text):
        return Managed("stop", _target(text))
    return None


def _command(text: str) -> Managed | None:
    what_if = _WHAT_IF.search(text)
    if what_if:
        rest = _RANGE.sub(" ", text[: what_if.start()] + " " + text[what_if.end() :])
        return Managed(
            "backtest", _target(rest), value=float(what_if.group("v")), window_s=_range_s(text)
        )
    if _LIST.search(text):
        return Managed("list")
    if not _ABOUT_ALERTS.search(text):
        return None  # "has the warehouse gone silent?" is a question, not a command
    change = _CHANGE.search(text)
    if change and not looks_like_new_rule(text):
        value = change["v"] or change["w"]
        rest = re.sub(
            r"(?<![\w-])(?:make|change|set|move|lower|raise|to|below|above|under|over|instead)"
            r"(?![\w-])|(?<![\w.])-?\d+(?:\.\d+)?\s*(?:%|°\s*[cf]|ppm)?",
            " ",
            text,
            flags=re.I,
        )
        return Managed("change", _target(rest), value=float(value))
    if _SNOOZE.search(text):
        seconds = parse_duration(text)
        return Managed("snooze", _target(DURATION.sub(" ", text)), seconds=seconds)
    if _RESUME.search(text):
        return Managed("resume", _target(text))
    if _PAUSE.search(text):
        return Managed("pause", _target(text))
    if _STOP.search(text) and re.search(r"alert|subscription|notif|rule|it(?![\w-])", text, re.I):
        return Managed("stop", _target(text))
    return None


def _target(text: str) -> str:
    """The words left once the command words are taken out ("humidity", "warehouse")."""
    words = _TARGET_NOISE.sub(" ", text)
    words = re.sub(r"[^\w\s%.-]", " ", words)
    return " ".join(words.split()).strip(" .")


def pick(subs_text: list[tuple[str, str]], target: str) -> list[str]:
    """Ids of the subscriptions (id, description) whose words contain every target word."""
    if not target:
        return [sid for sid, _ in subs_text]
    wanted = [w.lower() for w in re.findall(r"[\w%-]+", target) if len(w) > 1]
    return [sid for sid, words in subs_text if all(w in words.lower() for w in wanted)]
