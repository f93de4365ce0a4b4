"""Subscriptions in conversation: one entry point for Slack, `/query`, `/chat` and `ask`.

`handle(alerts, owner, text, vocab, tz)` creates a subscription from a sentence ("Alert me if
humidity drops below 30%"), or manages the owner's subscriptions ("what am I subscribed to?",
"stop the humidity alert", "snooze it for 2 hours", "make it 25% instead", "how often would
28% have fired last week?"). It answers in words and as data, asks when it cannot tell which
subscription is meant, and never acts on another owner's subscriptions.

A sentence whose rule could mean series in several places ("humidity" with humidity in three
rooms, `scoping.which`) creates nothing: the reply asks which, and the rule waits
(`pending.PendingRules`) in the conversation: `conversation` (a Slack channel), or a key handed
back as the reply's `subscription` that the agent keeps as the thread's "it" and passes back as
`last`. The next reply there ("the warehouse", "any of them", "never mind") completes or drops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from agent_bruno.agent.nlu.vocabulary import Vocabulary
from agent_bruno.alerts.commands import Managed, command, pick
from agent_bruno.alerts.config import SubscriptionError
from agent_bruno.alerts.model import AnyRule, ThresholdRule, describe, duration_words
from agent_bruno.alerts.parse import looks_like_new_rule, understand
from agent_bruno.alerts.pending import PREFIX, Pending, PendingRules
from agent_bruno.alerts.scoping import answer, cancels, looks_like_answer, which
from agent_bruno.alerts.service import AlertService
from agent_bruno.alerts.subscription import ChannelKind, Subscription
from agent_bruno.storage.base import CatalogRow


@dataclass(frozen=True, slots=True)
class Reply:
    """What to say, the data behind it, and whether something was done."""

    text: str
    data: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    subscription: str | None = None  # the subscription this was about (the thread's "it")


def _status(sub: Subscription, now: float, tz: tzinfo) -> str:
    if sub.paused:
        return " (paused)"
    if sub.snoozed(now) and sub.snoozed_until is not None:
        until = datetime.fromtimestamp(sub.snoozed_until, tz).strftime("%a %H:%M")
        return f" (snoozed until {until})"
    return ""


def _choose(
    alerts: AlertService, owner: str, target: str, last: str | None
) -> tuple[Subscription | None, Reply | None]:
    """The subscription a command is about, or a reply asking which."""
    subs = alerts.owned(owner)
    if not subs:
        return None, Reply("You have no alert subscriptions.")
    if not target and last is not None and any(s.id == last for s in subs):
        return alerts.get(owner, last), None
    ids = pick([(s.id, f"{s.name} {describe(s.rule)} {s.id}") for s in subs], target)
    if len(ids) == 1:
        return alerts.get(owner, ids[0]), None
    listed = "; ".join(f"{s.id}: {describe(s.rule)}" for s in subs[:10])
    if not ids:
        return None, Reply(f"None of your subscriptions matches {target!r}. You have: {listed}.")
    which = "; ".join(f"{s.id}: {describe(s.rule)}" for s in subs if s.id in ids[:10])
    return None, Reply(f"Which one? {which}. Name it by a word or its id.")


async def _manage(
    alerts: AlertService, owner: str, m: Managed, tz: tzinfo, last: str | None
) -> Reply:
    now = alerts.now()
    if m.command == "list":
        subs = alerts.owned(owner)
        if not subs:
            return Reply("You have no alert subscriptions.", {"subscriptions": []})
        lines = [f"{s.id}: {describe(s.rule)}{_status(s, now, tz)}" for s in subs]
        return Reply(
            f"You have {len(subs)} subscription{'s' if len(subs) != 1 else ''}:\n"
            + "\n".join(lines),
            {"subscriptions": [s.public() for s in subs]},
        )
    sub, ask = _choose(alerts, owner, m.target, last)
    if sub is None:
        return ask or Reply("Which subscription?")
    if m.command == "stop":
        await alerts.delete(owner, sub.id)
        return Reply(f"Stopped {sub.id}: {describe(sub.rule)}.", {"deleted": sub.id}, True)
    if m.command == "snooze":
        if m.seconds is None:
            return Reply(f"For how long should I snooze {sub.id} ({describe(sub.rule)})?")
        new = await alerts.update(owner, sub.id, snoozed_until=now + m.seconds)
        return Reply(
            f"Snoozed {sub.id} ({describe(sub.rule)}) for {duration_words(m.seconds)}.",
            new.public(), True, sub.id,
        )  # fmt: skip
    if m.command in ("pause", "resume"):
        paused = m.command == "pause"
        new = await alerts.update(
            owner, sub.id, paused=paused, **({} if paused else {"snoozed_until": None})
        )
        word = "Paused" if paused else "Resumed"
        return Reply(f"{word} {sub.id}: {describe(sub.rule)}.", new.public(), True, sub.id)
    rule = sub.rule
    if not isinstance(rule, ThresholdRule) or m.value is None:
        return Reply(f"{sub.id} ({describe(rule)}) has no threshold to change or try.")
    changed = rule.model_copy(update={"value": m.value})
    if m.command == "change":
        new = await alerts.update(owner, sub.id, rule=changed)
        return Reply(f"Changed {sub.id}: now {describe(changed)}.", new.public(), True, sub.id)
    window = m.window_s or 7 * 86_400.0
    result = await alerts.backtest(changed, now - window, now)
    return Reply(
        f"With {describe(changed)}: {result.words(tz)}",
        {"rule": changed.model_dump(mode="json"), "backtest": result.as_json(tz)},
        False,
        sub.id,
    )


async def handle(
    alerts: AlertService,
    owner: str,
    text: str,
    catalog: Sequence[CatalogRow],
    tz: tzinfo,
    last: str | None = None,
    intent: str | None = None,
    conversation: str | None = None,
) -> Reply:
    """Create or manage a subscription from a sentence (`intent`: what the agent's classifier
    read it as, when it came through the agent; `catalog`: the stored series, for names and
    for asking which place a rule means); errors become replies."""
    vocab = Vocabulary.from_catalog(catalog)
    key = conversation or (last if last is not None and last.startswith(PREFIX) else None)
    try:
        pending = alerts.pending.get(owner, key)
        if pending is not None and key is not None:
            settled = await _settle(alerts, owner, text, vocab, tz, pending, key, intent)
            if settled is not None:
                return settled
        managed = command(text, intent)
        if managed is not None:
            return await _manage(alerts, owner, managed, tz, last)
        understood = understand(text, vocab)
        if understood.rule is None:
            return Reply(understood.question or understood.refusal or "I could not tell.")
        ask = which(understood.rule, text, catalog)
        if ask is not None:
            key = key or PendingRules.new_key()
            waiting = Pending(
                understood.rule, ask, understood.channel, understood.notes, alerts.now()
            )
            alerts.pending.put(owner, key, waiting)
            return _question(waiting, key, conversation)
        return await _create(
            alerts, owner, understood.rule, understood.channel, understood.notes, tz
        )
    except SubscriptionError as exc:
        return Reply(str(exc))


def _question(pending: Pending, key: str, conversation: str | None) -> Reply:
    """Ask which place the rule means; the rule waits under `key`."""
    rule, w = pending.rule, pending.which
    return Reply(
        w.question,
        {
            "question": w.question,
            "choices": list(w.choices()),
            "scopes": w.scopes(rule.scope),
            "rule": rule.model_dump(mode="json"),
        },
        False,
        None if conversation else key,
    )


async def _settle(
    alerts: AlertService,
    owner: str,
    text: str,
    vocab: Vocabulary,
    tz: tzinfo,
    pending: Pending,
    key: str,
    intent: str | None,
) -> Reply | None:
    """Complete or drop the conversation's pending rule with this reply; None when the reply
    is something else (a command, a new subscription, a question for the agent)."""
    if cancels(text):
        alerts.pending.drop(owner, key)
        return Reply(f"OK, I won't set up {describe(pending.rule)}.")
    scope = answer(text, pending.rule, pending.which, vocab)
    if scope is None:
        if looks_like_answer(text) and not looks_like_new_rule(text) and not command(text, intent):
            return Reply(
                f"I still need to know where to watch: {text.strip()[:60]!r} is none of "
                f"them. {pending.which.question} (Or say 'never mind'.)",
                {"question": pending.which.question, "choices": list(pending.which.choices())},
                False,
                key,
            )
        if looks_like_new_rule(text):
            alerts.pending.drop(owner, key)  # a new request replaces the one waiting
        return None
    alerts.pending.drop(owner, key)
    rule = pending.rule.model_copy(update={"scope": scope})
    return await _create(alerts, owner, rule, pending.channel, pending.notes, tz)


async def _create(
    alerts: AlertService,
    owner: str,
    rule: AnyRule,
    channel: ChannelKind | None,
    notes_given: Sequence[str],
    tz: tzinfo,
) -> Reply:
    """Create the subscription on the configured channel, or say which channel is missing."""
    default = alerts.config.default_destination
    if channel and (default is None or default.kind != channel):
        return Reply(
            f"I understood: {describe(rule)}. Which {channel} "
            f"destination should it go to? None is configured; create it through "
            "POST /v1/subscriptions with a `destination`.",
            {"rule": rule.model_dump(mode="json")},
        )
    sub, result = await alerts.create(owner, rule)
    notes = "".join(f" Note: {n}." for n in notes_given)
    where = sub.destination.redacted()
    return Reply(
        f"OK, subscribed ({sub.id}): {describe(sub.rule)}. Alerts go to the {where['kind']} "
        f"{where['url']}.{notes} Backtest: {result.words(tz)}",
        {"subscription": sub.public(), "backtest": result.as_json(tz)},
        True,
        sub.id,
    )
