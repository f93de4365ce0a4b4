"""The notifier interface, delivery outcomes, and the one HTTP send every channel uses."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

import httpx

from agent_bruno.alerts.destinations import Target
from agent_bruno.alerts.routing import Notification
from agent_bruno.alerts.subscription import Destination

OutcomeStatus = Literal["delivered", "retryable", "permanent"]
USER_AGENT = "agent-bruno-alerts/1"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to; `retry_after` is the receiver's own wait, if it gave one."""

    status: OutcomeStatus
    detail: str = ""
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    """A request ready to send: the JSON body and the channel's headers."""

    body: bytes
    headers: dict[str, str]
    path: str = ""  # appended to the destination URL (Alertmanager's /api/v2/alerts)


class Notifier(Protocol):
    """Turns a notification into one channel's request."""

    kind: str

    def render(self, note: Notification, dest: Destination, now: float) -> Rendered:
        """The request for `note` to `dest` (pure: no I/O)."""


def rfc3339(ts: float) -> str:
    """Unix seconds as RFC 3339 UTC with milliseconds."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), if valid."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def classify(response: httpx.Response) -> Outcome:
    """2xx delivered; 408, 425, 429 and 5xx retryable (honouring Retry-After); other 4xx not."""
    code = response.status_code
    if 200 <= code < 300:
        return Outcome("delivered", f"HTTP {code}")
    text = response.text[:200].replace("\n", " ")
    detail = f"HTTP {code}: {text}" if text else f"HTTP {code}"
    if code in (408, 425, 429) or code >= 500:
        return Outcome("retryable", detail, retry_after(response.headers.get("retry-after")))
    return Outcome("permanent", detail)


def _pinned_url(target: Target, path: str) -> str:
    """The URL with its host replaced by the checked address (no second DNS lookup)."""
    host = f"[{target.address}]" if ":" in target.address else target.address
    rest = target.url.split("://", 1)[1]
    after_host = rest[len(rest.split("/", 1)[0]) :] or "/"
    if path:
        after_host = after_host.rstrip("/") + path
    return f"{target.scheme}://{host}:{target.port}{after_host}"


async def post(
    client: httpx.AsyncClient, target: Target, rendered: Rendered, timeout_s: float
) -> Outcome:
    """POST to the checked address, the host name in Host and TLS SNI; never raises."""
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host and not target.host.startswith("["):
        host_header = f"[{target.host}]" if target.port == default_port else host_header
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Host": host_header,
        **rendered.headers,
    }
    try:
        response = await client.post(
            _pinned_url(target, rendered.path),
            content=rendered.body,
            headers=headers,
            timeout=timeout_s,
            extensions={"sni_hostname": target.host},
            follow_redirects=False,
        )
    except httpx.TimeoutException as exc:
        return Outcome("retryable", f"timed out after {timeout_s:g} s ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return Outcome("retryable", f"{type(exc).__name__}: {exc}")
    return classify(response)
