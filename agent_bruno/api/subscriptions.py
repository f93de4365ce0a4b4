"""Alert subscriptions over REST: `/v1/subscriptions`, `/v1/silences`, `/v1/notifications`.

A subscription belongs to the caller's principal (the API token's owner); nobody else can see
or change it (another owner's id answers 404). Rules come as data (`rule`) or as a sentence
(`text`, understood by `alerts.parse`); either way the answer echoes the rule in words and as
data with its backtest over the stored history. A sentence that could mean series in several
places ("humidity" with humidity in three rooms, `alerts.scoping`) creates nothing: the 422
(`reason` "ambiguous") asks which, with the places as `choices` and `scopes`; the same request
with one of the `scopes` as `scope` (or `{}` for all of them), or with the place in the
sentence, creates it.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response

from agent_bruno.alerts.config import SubscriptionError
from agent_bruno.alerts.model import AnyRule, Rule, Scope, Timing, describe
from agent_bruno.alerts.parse import parse_duration, understand
from agent_bruno.alerts.service import AlertService
from agent_bruno.alerts.subscription import Destination, Subscription
from agent_bruno.api import alert_schemas as A
from agent_bruno.api.alert_text import rule_from_text, vocabulary
from agent_bruno.api.deps import Principal, ServicesDep
from agent_bruno.api.errors import ApiError, json_response
from agent_bruno.api.openapi import documented
from agent_bruno.api.schemas import rfc3339, with_iso

router = APIRouter(prefix="/v1", tags=["alerts"])
MAX_TEXT = 500


class CreateBody(BaseModel):
    """A new subscription: a sentence or a rule, and optionally where and how to notify."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)] | None = None
    rule: Rule | None = None
    # Where a sentence's rule applies, answering "which …?" ({} : everywhere); with `text` only.
    scope: Scope | None = None
    destination: Destination | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    timing: Timing | None = None
    backtest_days: float = Field(default=7.0, gt=0, le=30)

    @model_validator(mode="after")
    def _one(self) -> CreateBody:
        """Exactly one of `text` and `rule`; `scope` only with `text`."""
        if (self.text is None) == (self.rule is None):
            raise ValueError("give either `text` (a sentence) or `rule` (the rule as data)")
        if self.scope is not None and self.text is None:
            raise ValueError("`scope` goes with `text`; a `rule` carries its own `scope`")
        return self


class UpdateBody(BaseModel):
    """Fields to change; the others stay as they are."""

    model_config = ConfigDict(extra="forbid")

    rule: Rule | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    destination: Destination | None = None
    timing: Timing | None = None


class SnoozeBody(BaseModel):
    """Snooze until a time, or for a duration ("2h", "30 minutes" or seconds)."""

    model_config = ConfigDict(extra="forbid")

    until: float | None = None
    duration: str | float | None = Field(default=None, alias="for")

    @model_validator(mode="after")
    def _one(self) -> SnoozeBody:
        """Exactly one of `until` and `for`."""
        if (self.until is None) == (self.duration is None):
            raise ValueError('give either `until` (Unix seconds) or `for` (e.g. "2h" or 7200)')
        return self


class BacktestBody(BaseModel):
    """A what-if: a sentence or a rule, over the last `days`."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)] | None = None
    rule: Rule | None = None
    days: float = Field(default=7.0, gt=0, le=30)

    @model_validator(mode="after")
    def _one(self) -> BacktestBody:
        """Exactly one of `text` and `rule`."""
        if (self.text is None) == (self.rule is None):
            raise ValueError("give either `text` (a sentence) or `rule` (the rule as data)")
        return self


class SilenceBody(BaseModel):
    """Mute alerts whose labels match every matcher, for a while."""

    model_config = ConfigDict(extra="forbid")

    matchers: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=256)]]
    starts: float | None = None
    ends: float | None = None
    duration: str | float | None = Field(default=None, alias="for")
    comment: Annotated[str, Field(max_length=500)] = ""


def _error(exc: SubscriptionError) -> ApiError:
    return ApiError(exc.status, str(exc), reason="subscription")


def _view(sub: Subscription) -> dict[str, Any]:
    """A subscription as the API shows it, each time with its RFC 3339 twin."""
    return with_iso(sub.public(), "snoozed_until", "created_at", "updated_at")


def _backtest(result: dict[str, Any]) -> dict[str, Any]:
    out = with_iso(result, "start", "end")
    firings = out.get("firings")
    if isinstance(firings, list):
        out["firings"] = [with_iso(f, "start", "end") for f in firings]
    return out


def _created(sub: Subscription, backtest: dict[str, Any], notes: list[str]) -> Response:
    return json_response(
        {
            "subscription": _view(sub),
            "understood": describe(sub.rule),
            "notes": notes,
            "backtest": backtest,
        },
        201,
    )


@router.post(
    "/subscriptions",
    status_code=201,
    responses=documented(
        409,
        (
            422,
            "Invalid body; a sentence not understood (`not_understood`, with `question`); or one "
            "whose rule could watch several places (`ambiguous`: `question`, `choices`, `scopes`, "
            "`rule`; send one of `scopes` as `scope`)",
        ),
        ok=A.Created,
        status=201,
    ),
)
async def create_subscription(
    services: ServicesDep, owner: Principal, body: Annotated[CreateBody, Body()]
) -> Response:
    """Create a subscription from a sentence or a rule; answer with it and its backtest."""
    alerts = services.alerts
    notes: list[str] = []
    if body.text is not None:
        catalog = await asyncio.to_thread(services.storage.catalog)
        rule, notes = await rule_from_text(alerts, catalog, body.text, body.destination, body.scope)
    else:
        assert body.rule is not None
        rule = body.rule
    try:
        sub, result = await alerts.create(
            owner,
            rule,
            destination=body.destination,
            name=body.name,
            timing=body.timing,
            backtest_days=body.backtest_days,
        )
    except SubscriptionError as exc:
        raise _error(exc) from None
    return _created(sub, _backtest(result.as_json(services.settings.tzinfo)), notes)


@router.get("/subscriptions", responses=documented(ok=A.SubscriptionList))
async def list_subscriptions(services: ServicesDep, owner: Principal) -> Response:
    """The caller's subscriptions."""
    subs = services.alerts.owned(owner)
    return json_response({"subscriptions": [_view(s) for s in subs]})


def _firing(alerts: AlertService, sub_id: str) -> list[dict[str, Any]]:
    return [
        {
            "fingerprint": e.fingerprint,
            "labels": e.labels,
            "since": e.state.since,
            "value": e.state.value,
            "peak": e.state.peak,
        }
        for sid, e in alerts.evaluator.firing()
        if sid == sub_id
    ]


@router.get("/subscriptions/{sub_id}", responses=documented(ok=A.SubscriptionDetail))
async def get_subscription(services: ServicesDep, owner: Principal, sub_id: str) -> Response:
    """One subscription with its firing alerts."""
    try:
        sub = services.alerts.get(owner, sub_id)
    except SubscriptionError as exc:
        raise _error(exc) from None
    return json_response({**_view(sub), "firing": _firing(services.alerts, sub_id)})


async def _update(services: Any, owner: str, sub_id: str, **changes: Any) -> Response:
    try:
        sub = await services.alerts.update(owner, sub_id, **changes)
    except SubscriptionError as exc:
        raise _error(exc) from None
    return json_response(_view(sub))


@router.patch("/subscriptions/{sub_id}", responses=documented(409, ok=A.SubscriptionView))
async def update_subscription(
    services: ServicesDep, owner: Principal, sub_id: str, body: Annotated[UpdateBody, Body()]
) -> Response:
    """Change a subscription's rule, name, destination or timing."""
    return await _update(
        services, owner, sub_id, rule=body.rule, name=body.name,
        destination=body.destination, timing=body.timing,
    )  # fmt: skip


@router.delete("/subscriptions/{sub_id}", responses=documented(ok=A.Deleted))
async def delete_subscription(services: ServicesDep, owner: Principal, sub_id: str) -> Response:
    """Delete a subscription."""
    try:
        sub = await services.alerts.delete(owner, sub_id)
    except SubscriptionError as exc:
        raise _error(exc) from None
    return json_response({"deleted": sub.id, "description": describe(sub.rule)})


@router.post("/subscriptions/{sub_id}/pause", responses=documented(ok=A.SubscriptionView))
async def pause_subscription(services: ServicesDep, owner: Principal, sub_id: str) -> Response:
    """Stop evaluating a subscription until resumed."""
    return await _update(services, owner, sub_id, paused=True)


@router.post("/subscriptions/{sub_id}/resume", responses=documented(ok=A.SubscriptionView))
async def resume_subscription(services: ServicesDep, owner: Principal, sub_id: str) -> Response:
    """Evaluate a paused subscription again, and end any snooze."""
    return await _update(services, owner, sub_id, paused=False, snoozed_until=None)


def _seconds(value: str | float) -> float:
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        parsed = parse_duration(value)
        if parsed is None:
            raise ApiError(
                422, f'`for` {value!r} is not a duration; write e.g. "2h" or "30 minutes"'
            )
        seconds = parsed
    if not 0 < seconds <= 30 * 86_400:
        raise ApiError(422, f"a duration must be between 1 s and 30 days (got {seconds:g} s)")
    return seconds


@router.post("/subscriptions/{sub_id}/snooze", responses=documented(ok=A.SubscriptionView))
async def snooze_subscription(
    services: ServicesDep, owner: Principal, sub_id: str, body: Annotated[SnoozeBody, Body()]
) -> Response:
    """Hold back notifications until a time (alerts are still evaluated)."""
    now = services.alerts.now()
    until = body.until if body.until is not None else now + _seconds(body.duration or 0)
    if until <= now:
        raise ApiError(422, f"`until` {until} is in the past")
    return await _update(services, owner, sub_id, snoozed_until=until)


@router.post("/subscriptions/backtest", responses=documented(ok=A.WhatIf))
async def backtest(
    services: ServicesDep, owner: Principal, body: Annotated[BacktestBody, Body()]
) -> Response:
    """What if: how often a rule would have fired over the last `days`."""
    alerts = services.alerts
    notes: list[str] = []
    if body.text is not None:
        understood = understand(body.text, await vocabulary(services))
        if understood.rule is None:
            raise ApiError(
                422, understood.question or understood.refusal or "", reason="not_understood"
            )
        rule: AnyRule = understood.rule
        notes = list(understood.notes)
    else:
        assert body.rule is not None
        rule = body.rule
    now = alerts.now()
    result = await alerts.backtest(rule, now - body.days * 86_400, now)
    return json_response(
        {
            "rule": rule.model_dump(mode="json"),
            "understood": describe(rule),
            "notes": notes,
            "backtest": _backtest(result.as_json(services.settings.tzinfo)),
        }
    )


@router.get("/notifications", responses=documented(ok=A.NotificationList))
async def notifications(services: ServicesDep, owner: Principal, limit: int = 100) -> Response:
    """The caller's recent notifications and how their delivery went."""
    rows = await services.alerts.outbox(owner, max(1, min(limit, 1000)))
    return json_response(
        {"notifications": [with_iso(r, "created_at", "delivered_at") for r in rows]}
    )


@router.post("/silences", status_code=201, responses=documented(ok=A.Silence, status=201))
async def create_silence(
    services: ServicesDep, owner: Principal, body: Annotated[SilenceBody, Body()]
) -> Response:
    """Mute the caller's alerts matching the labels for a while."""
    now = services.alerts.now()
    starts = body.starts if body.starts is not None else now
    if body.ends is not None:
        ends = body.ends
    elif body.duration is not None:
        ends = starts + _seconds(body.duration)
    else:
        raise ApiError(422, 'give `ends` (Unix seconds) or `for` (e.g. "2h")')
    try:
        s = await services.alerts.silence(owner, body.matchers, starts, ends, body.comment)
    except SubscriptionError as exc:
        raise _error(exc) from None
    return json_response(_silence(s), 201)


def _silence(s: Any) -> dict[str, Any]:
    return {
        "id": s.id,
        "matchers": s.matchers,
        "starts": s.starts,
        "starts_iso": rfc3339(s.starts),
        "ends": s.ends,
        "ends_iso": rfc3339(s.ends),
        "comment": s.comment,
    }


@router.get("/silences", responses=documented(ok=A.SilenceList))
async def list_silences(services: ServicesDep, owner: Principal) -> Response:
    """The caller's silences."""
    return json_response({"silences": [_silence(s) for s in services.alerts.silences(owner)]})


@router.delete("/silences/{silence_id}", responses=documented(ok=A.Deleted))
async def delete_silence(services: ServicesDep, owner: Principal, silence_id: str) -> Response:
    """Delete one of the caller's silences."""
    try:
        await services.alerts.unsilence(owner, silence_id)
    except SubscriptionError as exc:
        raise _error(exc) from None
    return json_response({"deleted": silence_id})
