"""`EdgeData` (sync) and `AsyncEdgeData`: the agent's readings, anomalies and answers in code.

Both speak to the agent's HTTP API only (`/v1/series`, `/v1/anomalies`, `/v1/nodes`, `/query`,
`/chat`, `/v1/subscriptions`); what they make of the answers is in `core.py` and `frames.py`,
shared by the two.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Self

import httpx
import pandas as pd
from httpx_sse import aconnect_sse, connect_sse

from homelab import core, frames
from homelab.core import Anomaly, Answer, ChatEvent, Reading, Subscription, TimeRange
from homelab.errors import AgentUnreachable, BadRequest

PAGE = 1000


def _headers(token: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": "homelab-sdk"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _decode(response: httpx.Response) -> Any:
    """The JSON body, after turning an error answer into the SDK's error."""
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text[:300]
    core.raise_for_problem(response.status_code, body, str(response.url))
    return body


def _unreachable(url: str, exc: Exception) -> AgentUnreachable:
    return AgentUnreachable(
        f"the agent at {url} did not answer ({type(exc).__name__}: {exc}); check the URL, "
        f"or set {core.URL_ENV} when running outside the cluster"
    )


def _anomaly_params(
    start: datetime, end: datetime, filters: Mapping[str, str | None], cursor: str | None
) -> dict[str, Any]:
    return core.clean(
        {**filters, "view": "readings", "start": start.timestamp(), "end": end.timestamp(),
         "limit": PAGE, "cursor": cursor}
    )  # fmt: skip


def _series_params(
    sensor: str | None, window: tuple[float, float], step: int | None, **filters: str | None
) -> dict[str, Any]:
    start, end = window
    return core.clean({**filters, "sensor": sensor, "start": start, "end": end, "step": step})


def _plan(time_range: TimeRange, step: str | int | None) -> tuple[datetime, datetime, int]:
    """The range and the step to page it by (the agent's default step for its width)."""
    start, end = core.span(time_range, datetime.now(UTC))
    width = (end - start).total_seconds()
    chosen = core.step_seconds(step) or (300 if width <= 2 * 86_400 else 3600)
    return start, end, chosen


class EdgeData:
    """The agent's data: `EdgeData("agent-bruno")` in the cluster, or a URL from outside."""

    def __init__(
        self,
        agent: str = "agent-bruno",
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = core.agent_url(agent)
        self._http = httpx.Client(
            base_url=self.url, headers=_headers(core.api_token(token)), timeout=timeout,
            transport=transport,
        )  # fmt: skip

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        try:
            response = self._http.get(path, params=params)
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from None
        return _decode(response)

    def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        try:
            response = self._http.post(path, json=body)
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from None
        return _decode(response)

    def get_anomalies(
        self,
        cluster: str | None = None,
        namespace: str | None = None,
        node: str | None = None,
        location: str | None = None,
        severity: str | None = None,
        time_range: TimeRange = "1h",
        *,
        sensor: str | None = None,
        metric: str | None = None,
    ) -> list[Anomaly]:
        """Flagged readings, newest first. `namespace`: only nodes running a workload of that
        Kubernetes namespace."""
        start, end = core.span(time_range, datetime.now(UTC))
        filters = {"cluster": cluster, "node": node, "location": location,
                   "severity": severity, "sensor": sensor, "metric": metric}  # fmt: skip
        keep = (
            None if namespace is None else core.namespace_nodes(self._get("/v1/nodes"), namespace)
        )
        out: list[Anomaly] = []
        cursor = None
        while True:
            page = self._get("/v1/anomalies", _anomaly_params(start, end, filters, cursor))
            out += [Anomaly.from_api(r) for r in page["anomalies"]
                    if keep is None or r["node"] in keep]  # fmt: skip
            cursor = page.get("next_cursor")
            if not cursor:
                return out

    def get_readings(
        self,
        cluster: str | None = None,
        node: str | None = None,
        location: str | None = None,
        sensor: str | None = None,
        metric: str | None = None,
        time_range: TimeRange = "1h",
        step: str | int | None = None,
    ) -> list[Reading]:
        """Readings in buckets of `step` (mean, min, max, count), oldest first."""
        start, end, width = _plan(time_range, step)
        out: list[Reading] = []
        for window in core.windows(start.timestamp(), end.timestamp(), width):
            params = _series_params(sensor, window, width, cluster=cluster, node=node,
                                    location=location, metric=metric)  # fmt: skip
            out += core.readings(self._get("/v1/series", params))
        return out

    def get_timeseries(
        self,
        cluster: str | None = None,
        sensors: Sequence[str] | None = None,
        time_range: TimeRange = "30d",
        step: str | int | None = None,
        include_anomalies: bool = True,
        *,
        metric: str | None = None,
        location: str | None = None,
    ) -> pd.DataFrame:
        """A DataFrame of the series, one row per series and bucket: index `time` (bucket
        start, UTC), columns `cluster node location sensor metric unit value min max count`
        and, with `include_anomalies`, a bool `anomaly` (the edge flagged a reading of the row's
        series in its bucket); `value` is the bucket's mean (see `homelab.frames`). Long ranges
        are fetched in windows of at most 10,000 buckets, each turned into rows before the
        next is fetched."""
        start, end, width = _plan(time_range, step)
        parts = []
        wanted: list[str | None] = [*sensors] if sensors else [None]
        for sensor in wanted:
            for window in core.windows(start.timestamp(), end.timestamp(), width):
                params = _series_params(sensor, window, width, cluster=cluster,
                                        metric=metric, location=location)  # fmt: skip
                parts.append(frames.page_frame(self._get("/v1/series", params)))
        flagged = None
        if include_anomalies:
            flagged = self.get_anomalies(cluster=cluster, location=location,
                                         time_range=(start, end), metric=metric)  # fmt: skip
            if sensors:
                flagged = [a for a in flagged if a.sensor_id in sensors]
        return frames.timeseries(parts, flagged)

    def query(self, question: str, thread_id: str | None = None) -> Answer:
        """Ask a question; the answer with the data it came from."""
        _check_question(question)
        body = {"question": question, "thread_id": thread_id}
        return Answer.from_api(self._post("/query", core.clean(body)))

    def chat(self, question: str, thread_id: str | None = None) -> Iterator[ChatEvent]:
        """Ask a question; the agent's events as they happen (tokens, tool calls, …)."""
        _check_question(question)
        body = core.clean({"question": question, "thread_id": thread_id})
        try:
            with connect_sse(self._http, "POST", "/chat", json=body) as source:
                if source.response.status_code >= 400:
                    source.response.read()
                    _decode(source.response)
                for sse in source.iter_sse():
                    yield _event(sse.event, sse.data)
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from None

    def subscribe(
        self,
        text: str,
        destination: Mapping[str, Any] | None = None,
        scope: Mapping[str, str] | None = None,
    ) -> Subscription:
        """Subscribe to alerts in words ("Alert me if humidity drops below 30%").

        When the sentence could mean series in several places, the agent creates nothing and
        `BadRequest` says which places (`problem["choices"]`, `problem["scopes"]`); pass one of
        the `scopes` as `scope` (or `{}` for all of them), or name the place in the sentence."""
        _check_text(text)
        body = core.clean({"text": text, "destination": destination, "scope": scope})
        return Subscription.from_api(self._post("/v1/subscriptions", body))

    def subscriptions(self) -> list[Subscription]:
        """Your alert subscriptions (those of the token's owner)."""
        return core.subscriptions(self._get("/v1/subscriptions"))

    def unsubscribe(self, subscription_id: str) -> None:
        """Delete one of your subscriptions (`BadRequest` if there is no such one)."""
        core.check_id(subscription_id)
        try:
            response = self._http.delete(f"/v1/subscriptions/{subscription_id}")
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from None
        _decode(response)


class AsyncEdgeData:
    """`EdgeData` for asyncio: the same methods, awaited (`chat` is an async iterator)."""

    def __init__(
        self,
        agent: str = "agent-bruno",
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = core.agent_url(agent)
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=_headers(core.api_token(token)), timeout=timeout,
            transport=transport,
        )  # fmt: skip

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        try:
            response = await self._http.get(path, params=params)
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from None
        return _decode(response)

    async def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        try:
            response = await self._http.post(path, json=body)
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from None
        return _decode(response)

    async def get_anomalies(
        self,
        cluster: str | None = None,
        namespace: str | None = None,
        node: str | None = None,
        location: str | None = None,
        severity: str | None = None,
        time_range: TimeRange = "1h",
        *,
        sensor: str | None = None,
        metric: str | None = None,
    ) -> list[Anomaly]:
        """As `EdgeData.get_anomalies`."""
        start, end = core.span(time_range, datetime.now(UTC))
        filters = {"cluster": cluster, "node": node, "location": location,
                   "severity": severity, "sensor": sensor, "metric": metric}  # fmt: skip
        keep = None
        if namespace is not None:
            keep = core.namespace_nodes(await self._get("/v1/nodes"), namespace)
        out: list[Anomaly] = []
        cursor = None
        while True:
            page = await self._get("/v1/anomalies", _anomaly_params(start, end, filters, cursor))
            out += [Anomaly.from_api(r) for r in page["anomalies"]
                    if keep is None or r["node"] in keep]  # fmt: skip
            cursor = page.get("next_cursor")
            if not cursor:
                return out

    async def get_readings(
        self,
        cluster: str | None = None,
        node: str | None = None,
        location: str | None = None,
        sensor: str | None = None,
        metric: str | None = None,
        time_range: TimeRange = "1h",
        step: str | int | None = None,
    ) -> list[Reading]:
        """As `EdgeData.get_readings`."""
        start, end, width = _plan(time_range, step)
        out: list[Reading] = []
        for window in core.windows(start.timestamp(), end.timestamp(), width):
            params = _series_params(sensor, window, width, cluster=cluster, node=node,
                                    location=location, metric=metric)  # fmt: skip
            out += core.readings(await self._get("/v1/series", params))
        return out

    async def get_timeseries(
        self,
        cluster: str | None = None,
        sensors: Sequence[str] | None = None,
        time_range: TimeRange = "30d",
        step: str | int | None = None,
        include_anomalies: bool = True,
        *,
        metric: str | None = None,
        location: str | None = None,
    ) -> pd.DataFrame:
        """As `EdgeData.get_timeseries`."""
        start, end, width = _plan(time_range, step)
        parts = []
        wanted: list[str | None] = [*sensors] if sensors else [None]
        for sensor in wanted:
            for window in core.windows(start.timestamp(), end.timestamp(), width):
                params = _series_params(sensor, window, width, cluster=cluster,
                                        metric=metric, location=location)  # fmt: skip
                parts.append(frames.page_frame(await self._get("/v1/series", params)))
        flagged = None
        if include_anomalies:
            flagged = await self.get_anomalies(cluster=cluster, location=location,
                                               time_range=(start, end), metric=metric)  # fmt: skip
            if sensors:
                flagged = [a for a in flagged if a.sensor_id in sensors]
        return frames.timeseries(parts, flagged)

    async def query(self, question: str, thread_id: str | None = None) -> Answer:
        """As `EdgeData.query`."""
        _check_question(question)
        body = {"question": question, "thread_id": thread_id}
        return Answer.from_api(await self._post("/query", core.clean(body)))

    async def chat(self, question: str, thread_id: str | None = None) -> AsyncIterator[ChatEvent]:
        """As `EdgeData.chat`."""
        _check_question(question)
        body = core.clean({"question": question, "thread_id": thread_id})
        try:
            async with aconnect_sse(self._http, "POST", "/chat", json=body) as source:
                if source.response.status_code >= 400:
                    await source.response.aread()
                    _decode(source.response)
                async for sse in source.aiter_sse():
                    yield _event(sse.event, sse.data)
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from None

    async def subscribe(
        self,
        text: str,
        destination: Mapping[str, Any] | None = None,
        scope: Mapping[str, str] | None = None,
    ) -> Subscription:
        """As `EdgeData.subscribe`."""
        _check_text(text)
        body = core.clean({"text": text, "destination": destination, "scope": scope})
        return Subscription.from_api(await self._post("/v1/subscriptions", body))

    async def subscriptions(self) -> list[Subscription]:
        """As `EdgeData.subscriptions`."""
        return core.subscriptions(await self._get("/v1/subscriptions"))

    async def unsubscribe(self, subscription_id: str) -> None:
        """As `EdgeData.unsubscribe`."""
        core.check_id(subscription_id)
        try:
            response = await self._http.delete(f"/v1/subscriptions/{subscription_id}")
        except httpx.TransportError as exc:
            raise _unreachable(self.url, exc) from None
        _decode(response)


def _check_question(question: str) -> None:
    if not isinstance(question, str) or not question.strip():
        raise BadRequest("the question is empty: ask something, e.g. 'temperature in warehouse?'")


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise BadRequest(
            "the subscription is empty: say it, e.g. 'Alert me if humidity drops below 30%'"
        )


def _event(kind: str, data: str) -> ChatEvent:
    try:
        payload = json.loads(data) if data else {}
    except json.JSONDecodeError:
        payload = {"text": data}
    return ChatEvent(
        kind or "message", payload if isinstance(payload, dict) else {"value": payload}
    )
