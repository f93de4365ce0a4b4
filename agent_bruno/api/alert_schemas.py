"""Response schemas of the alert routes (`/v1/subscriptions`, `/v1/silences`,
`/v1/notifications`) and the knowledge routes (`/v1/incidents`, `/v1/graph/*`), for
`/openapi.json`. As in `schemas.py`, the routes build their JSON themselves; these models document
it and schemathesis checks that the two agree."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agent_bruno.api.schemas import _ISO, Iso, _Doc

_RULE = Field(description="the rule, in the form `rule` takes in a request body")


class DestinationView(_Doc):
    """Where notifications go, as shown back: the URL's host only, the secret masked."""

    kind: str = Field(examples=["webhook"])
    url: str
    secret: str | None = None


class SubscriptionView(_Doc):
    """An alert subscription."""

    id: str = Field(examples=["sub_3f9a1c2b7e4d"])
    owner: str
    name: str
    rule: dict[str, Any] = _RULE
    description: str = Field(examples=["humidity below 30% at warehouse"])
    destination: DestinationView
    timing: dict[str, Any] = Field(description="group wait, group and repeat intervals (s)")
    paused: bool
    snoozed_until: float | None = Field(description="Unix seconds; null when not snoozed")
    snoozed_until_iso: Iso = _ISO
    created_at: float
    created_at_iso: Iso = _ISO
    updated_at: float
    updated_at_iso: Iso = _ISO


class Backtest(_Doc):
    """How often a rule would have fired over a past window."""

    start: float
    start_iso: Iso = _ISO
    end: float
    end_iso: Iso = _ISO
    series: int
    observations: int
    fired: int
    fired_seconds: float
    firings: list[dict[str, Any]] = Field(description="series, start and end of each firing")
    notes: list[str]
    supported: bool
    text: str = Field(description="the backtest in words")


class Created(_Doc):
    """A subscription made from a sentence or a rule, with how it was understood."""

    subscription: SubscriptionView
    understood: str
    notes: list[str]
    backtest: dict[str, Any] = Field(description="as `Backtest`")


class SubscriptionList(_Doc):
    """The caller's subscriptions."""

    subscriptions: list[SubscriptionView]


class SubscriptionDetail(SubscriptionView):
    """A subscription with its firing alerts."""

    firing: list[dict[str, Any]] = Field(description="fingerprint, labels, since, value, peak")


class Deleted(_Doc):
    """What was deleted."""

    deleted: str
    description: str | None = None


class WhatIf(_Doc):
    """A backtest of a rule not (yet) subscribed to."""

    rule: dict[str, Any] = _RULE
    understood: str
    notes: list[str]
    backtest: Backtest


class Notification(_Doc):
    """A notification and how its delivery went."""

    id: str
    subscription: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    last_error: str | None
    created_at: float
    created_at_iso: Iso = _ISO
    delivered_at: float | None
    delivered_at_iso: Iso = _ISO
    title: str
    notification_status: str = Field(description="firing or resolved")


class NotificationList(_Doc):
    """The caller's recent notifications, newest first."""

    notifications: list[Notification]


class Silence(_Doc):
    """Alerts matching every matcher are muted between `starts` and `ends`."""

    id: str
    matchers: dict[str, str]
    starts: float
    starts_iso: Iso = _ISO
    ends: float
    ends_iso: Iso = _ISO
    comment: str


class SilenceList(_Doc):
    """The caller's silences."""

    silences: list[Silence]


class IncidentEnvelope(_Doc):
    """One incident: where, when, its root cause and the episodes linked to it."""

    incident: dict[str, Any]


class IncidentList(_Doc):
    """Incidents, newest first."""

    incidents: list[dict[str, Any]]


class GraphContext(_Doc):
    """What the graph knows of a node, a sensor (a list: one per match) or a location."""

    context: dict[str, Any] | list[dict[str, Any]]


class KnowledgeExport(_Doc):
    """What people taught (incidents, root causes, their episodes), as a file to import."""


class Imported(_Doc):
    """How many of each kind of thing the import added or updated."""

    imported: dict[str, Any]


class Rebuilt(_Doc):
    """What the rebuild from storage wrote."""
