"""Sentences for `/v1/subscriptions`: understood into a rule, or a 422 that says why not.

A question or refusal from `alerts.parse` becomes a `not_understood` problem; a rule that could
watch several places (`alerts.scoping.which`) an `ambiguous` one listing them, unless the
request carries a `scope` that settles it (checked against the stored names).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from agent_bruno.agent.nlu.vocabulary import Kind, Vocabulary
from agent_bruno.alerts.model import AnyRule, Scope
from agent_bruno.alerts.parse import understand
from agent_bruno.alerts.scoping import which
from agent_bruno.alerts.service import AlertService
from agent_bruno.alerts.subscription import Destination
from agent_bruno.api.errors import ApiError
from agent_bruno.storage.base import CatalogRow


async def vocabulary(services: Any) -> Vocabulary:
    """The catalog's names, for understanding sentences."""
    rows = await asyncio.to_thread(services.storage.catalog)
    return Vocabulary.from_catalog(rows)


def _check_scope(scope: Scope, vocab: Vocabulary) -> None:
    """Refuse a `scope` naming a place, node or sensor with no stored series."""
    named: tuple[tuple[Kind, str | None], ...] = (
        ("location", scope.location), ("node", scope.node), ("sensor", scope.sensor),
    )  # fmt: skip
    for kind, name in named:
        known = vocab.known(kind)
        if name is not None and name not in known:
            raise ApiError(
                422,
                f"`scope.{kind}` {name!r} has no stored series; "
                f"known: {', '.join(known) or 'none'}",
                reason="not_understood",
            )


async def rule_from_text(
    alerts: AlertService,
    catalog: Sequence[CatalogRow],
    text: str,
    destination: Destination | None,
    scope: Scope | None = None,
) -> tuple[AnyRule, list[str]]:
    """Understand a sentence; a question, a refusal or a rule that could mean several places
    (without `scope` to settle it) becomes a 422 that says it."""
    understood = understand(text, Vocabulary.from_catalog(catalog))
    if understood.rule is None:
        message = understood.question or understood.refusal or "I could not understand that"
        raise ApiError(
            422,
            message,
            reason="not_understood",
            question=understood.question,
            choices=list(understood.choices),
        )
    rule = understood.rule
    if scope is not None:
        _check_scope(scope, Vocabulary.from_catalog(catalog))
        given = scope.model_dump(exclude_unset=True)
        rule = rule.model_copy(update={"scope": rule.scope.model_copy(update=given)})
    else:
        ask = which(rule, text, catalog)
        if ask is not None:
            raise ApiError(
                422,
                ask.question + " Send the request again with one of `scopes` as `scope` "
                "(or `{}` for all), or name the place in the sentence.",
                reason="ambiguous",
                question=ask.question,
                choices=list(ask.choices()),
                scopes=ask.scopes(rule.scope),
                rule=rule.model_dump(mode="json"),
            )
    notes = list(understood.notes)
    wanted = understood.channel
    default = alerts.config.default_destination
    if wanted and destination is None and (default is None or default.kind != wanted):
        raise ApiError(
            422,
            f"Which {wanted} destination should I use? No default {wanted} channel is "
            f"configured; send `destination` with kind {wanted!r}.",
            reason="not_understood",
            question=f"which {wanted} destination?",
            rule=rule.model_dump(mode="json"),
        )
    return rule, notes
