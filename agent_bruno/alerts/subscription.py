"""A subscription: an owner's rule, where its notifications go, and how they are grouped."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from agent_bruno.alerts.model import AnyRule, Timing, describe

ChannelKind = Literal["webhook", "slack", "pagerduty", "alertmanager"]
Url = Annotated[str, Field(min_length=1, max_length=2048)]


class Destination(BaseModel):
    """Where notifications go: the channel, its URL and its secret (never echoed whole)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ChannelKind
    url: Url
    # webhook: the HMAC signing secret; pagerduty: the integration's routing key.
    secret: SecretStr | None = Field(default=None, max_length=512)

    def redacted(self) -> dict[str, Any]:
        """The destination as shown back to people: the URL's host only, secrets masked."""
        return {
            "kind": self.kind,
            "url": redact_url(self.url),
            "secret": None if self.secret is None else mask(self.secret.get_secret_value()),
        }

    def stored(self) -> dict[str, Any]:
        """The destination as stored (secrets included)."""
        return {
            "kind": self.kind,
            "url": self.url,
            "secret": None if self.secret is None else self.secret.get_secret_value(),
        }


def mask(secret: str) -> str:
    """A secret shown as its first 4 characters and its length."""
    return f"{secret[:4]}… ({len(secret)} chars)" if len(secret) > 8 else "…"


def redact_url(url: str) -> str:
    """A URL with its path and query hidden (Slack and webhook URLs carry their secret there)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "…"
    host = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    tail = "/…" if len(rest) > len(host) else ""
    return f"{scheme}://{host}{tail}"


@dataclass(frozen=True, slots=True)
class Subscription:
    """One owner's rule and its delivery, as stored."""

    id: str
    owner: str
    name: str
    rule: AnyRule
    destination: Destination
    timing: Timing
    created_at: float
    updated_at: float
    paused: bool = False
    snoozed_until: float | None = None

    def snoozed(self, now: float) -> bool:
        """Whether notifications are held back at `now`."""
        return self.snoozed_until is not None and now < self.snoozed_until

    def with_changes(self, **changes: Any) -> Subscription:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def public(self) -> dict[str, Any]:
        """The subscription as the API and chat show it (secrets redacted)."""
        return {
            "id": self.id,
            "owner": self.owner,
            "name": self.name,
            "rule": self.rule.model_dump(mode="json"),
            "description": describe(self.rule),
            "destination": self.destination.redacted(),
            "timing": self.timing.model_dump(),
            "paused": self.paused,
            "snoozed_until": self.snoozed_until,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
