"""`POST /slack/commands`: Slack slash commands ("/bruno alert me if humidity drops below 30%").

Every request is verified as Slack signs it: `X-Slack-Signature` must be `v0=` + the hex
HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<raw body>` under the signing secret, compared
in constant time, and the timestamp must be within 5 minutes (a replayed request is refused).
Slack waits 3 s for an answer: the command gets 2.5 s; a slower one answers "working on it"
at once and posts its result to the request's `response_url` when done. The owner of what is
created is the Slack team and user; a question the command answers with ("Which humidity?")
is answered by the user's next command in the same channel ("/bruno the warehouse").
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from agent_bruno.alerts.chat import Reply, handle
from agent_bruno.api.deps import Services
from agent_bruno.api.errors import ApiError, json_response
from agent_bruno.api.openapi import documented
from agent_bruno.api.schemas import SlackReply

router = APIRouter(tags=["slack"])
log = logging.getLogger(__name__)
MAX_AGE_S = 300.0
ANSWER_WITHIN_S = 2.5
MAX_BODY = 64 * 1024
_background: set[asyncio.Task[None]] = set()


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Slack-Signature` Slack sends for `body` at `timestamp`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, headers: Any, body: bytes, now: float) -> None:
    """Raise a 401 naming the problem unless the request is Slack's and fresh."""
    stamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not stamp or not signature:
        raise ApiError(
            401, "missing X-Slack-Request-Timestamp or X-Slack-Signature", reason="slack"
        )
    try:
        sent = float(stamp)
    except ValueError:
        raise ApiError(401, f"X-Slack-Request-Timestamp {stamp[:20]!r} is not a number") from None
    if abs(now - sent) > MAX_AGE_S:
        raise ApiError(
            401,
            f"request timestamp is {abs(now - sent):.0f} s away from now (more than 5 minutes): "
            "refused as a possible replay",
            reason="slack",
        )
    if not hmac.compare_digest(slack_signature(secret, stamp, body), signature):
        raise ApiError(
            401, "bad Slack signature: check AGENT_BRUNO_SLACK_SIGNING_SECRET", reason="slack"
        )


def _ephemeral(reply: Reply) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": reply.text[:3000]}


async def _post_later(services: Services, task: asyncio.Task[Reply], response_url: str) -> None:
    """Post a slow command's result to Slack's response_url once it is done."""
    try:
        reply = await task
        outcome = await services.alerts.post_json(response_url, _ephemeral(reply))
    except Exception:
        log.exception("a Slack command failed")
        return
    if outcome.status != "delivered":
        log.warning("could not post a Slack command's result: %s", outcome.detail)


@router.post(
    "/slack/commands",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "team_id": {"type": "string"},
                            "user_id": {"type": "string"},
                            "text": {"type": "string"},
                            "response_url": {"type": "string"},
                        },
                    },
                    "example": "team_id=T1&user_id=U1&text=alert+me+if+humidity+drops+below+30%25",
                }
            },
        },
        "parameters": [
            {"name": "X-Slack-Request-Timestamp", "in": "header", "schema": {"type": "string"}}
        ],
    },
    responses=documented(
        400,
        (404, "Slack commands are off (no AGENT_BRUNO_SLACK_SIGNING_SECRET)"),
        413,
        ok=SlackReply,
        description="An ephemeral reply for the user who typed the command",
    ),
)
async def slack_command(request: Request) -> Response:
    """Verify, then create or manage a subscription for the Slack user who typed the command."""
    services: Services = request.app.state.services
    secret = services.settings.slack_signing_secret
    if secret is None:
        raise ApiError(
            404, "Slack commands are off: set AGENT_BRUNO_SLACK_SIGNING_SECRET", reason="slack"
        )
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ApiError(413, f"body of {len(body)} bytes is over {MAX_BODY}", reason="slack")
    verify(secret.get_secret_value(), request.headers, body, time.time())
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items() if v}
    team, user = form.get("team_id", ""), form.get("user_id", "")
    if not team or not user:
        raise ApiError(400, "the command has no team_id or user_id", reason="slack")
    text = form.get("text", "").strip()
    if not text or text.lower() in ("help", "?"):
        return json_response(
            _ephemeral(
                Reply(
                    "Try: `alert me if humidity drops below 30%`, `page me on critical anomalies "
                    "in warehouse-b`, `what am I subscribed to?`, `stop the humidity alert`, "
                    "`snooze it for 2 hours`, `how often would 28% have fired last week?`"
                )
            )
        )
    owner = f"slack:{team}:{user}"
    catalog = await asyncio.to_thread(services.storage.catalog)
    # A question ("Which humidity?") waits for the user's next command in the same channel.
    conversation = "slack:" + form.get("channel_id", "")
    task = asyncio.create_task(
        handle(
            services.alerts,
            owner,
            text[:500],
            catalog,
            services.settings.tzinfo,
            conversation=conversation,
        )
    )
    try:
        reply = await asyncio.wait_for(asyncio.shield(task), ANSWER_WITHIN_S)
    except TimeoutError:
        url = form.get("response_url", "")
        if url:
            later = asyncio.create_task(_post_later(services, task, url))
            _background.add(later)
            later.add_done_callback(_background.discard)
        else:
            with contextlib.suppress(Exception):
                task.cancel()
        return json_response(_ephemeral(Reply("Working on it; I'll post the result here.")))
    return json_response(_ephemeral(reply))
