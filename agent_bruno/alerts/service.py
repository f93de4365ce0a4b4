"""`AlertService`: subscriptions, evaluation off the request path, dispatch and delivery.

Ingest hands each committed write to `observe`, which only appends it to a queue (the request
is already answered by then); a task evaluates the queue against the active rules, passes the
changes to the dispatcher, writes due notifications to the outbox and wakes the deliverer. A
second task ticks once a second for node, silence and episode-timeout rules and group timers; a
third flushes a group the moment it is due with something new to send (a resolve goes out when
its group interval ends, not at the next tick). Time comes from one `Clock`, passed in.
The API and the agent's tools call the methods below; owners see only their own subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import tzinfo
from typing import Any, TypeVar

import httpx
import orjson

from agent_bruno.alerts.backtest import BacktestResult
from agent_bruno.alerts.clock import Clock, as_clock
from agent_bruno.alerts.config import AlertConfig, SubscriptionError
from agent_bruno.alerts.delivery import Deliverer, Outbox
from agent_bruno.alerts.destinations import DestinationError, Resolver, check, system_resolve
from agent_bruno.alerts.engine import EpisodeEvent
from agent_bruno.alerts.episodes import EpisodeTracker
from agent_bruno.alerts.evaluator import AlertChange, Evaluator, SeriesLabels
from agent_bruno.alerts.history import backtest_rule, replay
from agent_bruno.alerts.intake import accepted, evaluate
from agent_bruno.alerts.model import AnyRule, Timing, describe
from agent_bruno.alerts.notifiers.alertmanager import AlertmanagerNotifier
from agent_bruno.alerts.notifiers.base import Notifier, Outcome, Rendered, post
from agent_bruno.alerts.notifiers.pagerduty import PagerDutyNotifier
from agent_bruno.alerts.notifiers.slack import SlackNotifier
from agent_bruno.alerts.notifiers.webhook import WebhookNotifier
from agent_bruno.alerts.pending import PendingRules
from agent_bruno.alerts.restore import firing_views, seed_facts
from agent_bruno.alerts.routing import Dispatcher, Silence
from agent_bruno.alerts.store import AlertStore
from agent_bruno.alerts.subscription import Destination, Subscription
from agent_bruno.storage.base import Storage, WriteOutcome, WriteRequest

log = logging.getLogger(__name__)
_T = TypeVar("_T")
TICK_S = 1.0
OUTBOX_KEEP_S = 7 * 86_400.0
# Re-evaluated at start, in data time: what a crash may have left unevaluated. An hour, not the
# 15 minutes of live bulk data: a reporter catching up after an outage sends windows that old.
REPLAY_S = 3600.0


class AlertService:
    """Owns the alert store, the evaluator, the dispatcher and the deliverer."""

    def __init__(
        self,
        config: AlertConfig,
        storage: Storage,
        client: httpx.AsyncClient,
        *,
        clock: Clock | Callable[[], float] = time.time,
        resolve: Resolver = system_resolve,
        notifiers: dict[str, Notifier] | None = None,
        on_outcome: Callable[[str, str], None] | None = None,
    ) -> None:
        self.config = config
        self._storage = storage
        self.clock = as_clock(clock)
        self._clock = self.clock.now
        self._resolve = resolve
        self._client = client
        self._on_outcome = on_outcome  # (channel, outcome) of each delivery attempt, for metrics
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="alerts-db")
        self._store: AlertStore | None = None
        self._subs: dict[str, Subscription] = {}
        self._silences: list[Silence] = []
        self.evaluator = Evaluator(config.thresholds)
        self.dispatcher = Dispatcher(self._subs.get)
        self.tracker = EpisodeTracker()
        self.pending = PendingRules(
            self._clock
        )  # rules waiting for "which place?" in a conversation
        self._queue: deque[WriteRequest] = deque()
        self._pending = asyncio.Event()
        self._regroup = asyncio.Event()  # a group's next flush may have moved
        self._tasks: list[asyncio.Task[None]] = []
        self.outcomes: dict[tuple[str, str], int] = {}
        link = config.link_base
        self._notifiers: dict[str, Notifier] = notifiers or {
            "slack": SlackNotifier(link),
            "pagerduty": PagerDutyNotifier(link),
            "webhook": WebhookNotifier(link),
            "alertmanager": AlertmanagerNotifier(link),
        }
        self.deliverer = Deliverer(
            Outbox(self._heads, self._mark),
            self._run_sync,
            client,
            self._notifiers,
            config.policy,
            config.retry,
            resolve,
            self.clock,
            self._count,
        )

    # Life cycle ----------------------------------------------------------------------------

    async def post_json(self, url: str, payload: Any) -> Outcome:
        """POST JSON to a checked URL (Slack's response_url); never raises."""
        try:
            target = await check(url, self.config.policy, self._resolve)
        except DestinationError as exc:
            return Outcome("permanent", str(exc))
        rendered = Rendered(orjson.dumps(payload), {})
        return await post(self._client, target, rendered, self.config.retry.timeout_s)

    def now(self) -> float:
        """The service's clock."""
        return self._clock()

    def _run_sync(self, fn: Callable[..., _T], *args: Any) -> Awaitable[_T]:
        """Run a store call on the alert database thread."""
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _db(self) -> AlertStore:
        if self._store is None:
            raise RuntimeError("the alert service is not started")
        return self._store

    def _heads(self, now: float) -> Any:
        return self._db().heads(now)

    def _mark(self, *args: Any) -> None:
        self._db().mark(*args)

    def _count(self, kind: str, outcome: Outcome) -> None:
        key = (kind, outcome.status)
        self.outcomes[key] = self.outcomes.get(key, 0) + 1
        if self._on_outcome is not None:
            self._on_outcome(kind, outcome.status)

    async def start(self) -> None:
        """Open the tables, load subscriptions and alert states, start the tasks."""
        self._store = await self._run_sync(AlertStore, self.config.database)
        store = self._store
        subs = await self._run_sync(store.subscriptions)
        self._subs.update({s.id: s for s in subs})
        self.evaluator.set_subscriptions(self._subs.values())
        for sub_id, labels, st in await self._run_sync(store.states):
            if sub_id in self._subs:
                self.evaluator.restore(sub_id, labels, st)
        self._silences = await self._run_sync(store.silences)
        await asyncio.to_thread(seed_facts, self._storage, self.evaluator)
        now = self._clock()
        firing = firing_views(self.evaluator, self._subs)
        for group in await self._run_sync(store.groups):
            if group.sub_id in self._subs:
                self.dispatcher.restore(group, firing.pop(group.key, []), now)
        since = now - REPLAY_S
        replayed = (
            await asyncio.to_thread(replay, self._storage, self.evaluator, since, now)
            if self._subs
            else []
        )
        await self._apply(replayed)
        self._tasks = [
            asyncio.create_task(self._evaluate_loop(), name="alerts-evaluate"),
            asyncio.create_task(self._tick_loop(), name="alerts-tick"),
            asyncio.create_task(self._flush_loop(), name="alerts-flush"),
            asyncio.create_task(self.deliverer.run(), name="alerts-deliver"),
        ]
        log.info(
            "alerts: %d subscription(s), %d firing, %d notification(s) pending",
            len(self._subs),
            len(self.evaluator.firing()),
            await self._run_sync(store.pending_count),
        )

    async def close(self) -> None:
        """Stop the tasks (queued notifications stay in the outbox) and close the store."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._store is not None:
            await self._run_sync(self._store.close)
            self._store = None
        self._executor.shutdown(wait=True)

    # Evaluation ----------------------------------------------------------------------------

    def observe(self, request: WriteRequest, outcome: WriteOutcome | None = None) -> None:
        """Queue a committed write for evaluation (called on the request path: O(1)); items
        the storage refused (`outcome.rejected`) are left out."""
        if not self._subs:
            return
        request = accepted(request, outcome)
        self._queue.append(request)
        self._pending.set()

    async def _evaluate_loop(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            changes: list[AlertChange] = []
            while self._queue:
                request = self._queue.popleft()
                try:
                    changes.extend(evaluate(self.evaluator, self.tracker, request, self._clock()))
                except Exception:
                    log.exception("evaluating a write against the alert rules failed")
            await self._apply(changes)

    def observe_episode(self, s: SeriesLabels, ep: EpisodeEvent) -> list[AlertChange]:
        """Evaluate an episode event (reporters' own episodes, once they send them)."""
        return self.evaluator.observe_episode(s, ep)

    async def _apply(self, changes: list[AlertChange]) -> None:
        """Persist state changes, feed the dispatcher, enqueue what is due."""
        now = self._clock()
        if changes:
            rows = [(c.sub.id, c.fingerprint, c.labels, c.state) for c in changes]
            await self._run_sync(self._db().save_states, rows)
            for c in changes:
                self.dispatcher.change(c, now)
            self._regroup.set()
        await self._flush(now)

    async def _flush(self, now: float) -> None:
        due = self.dispatcher.due(now, self._silences, self.evaluator.offline)
        if not due:
            return
        self._regroup.set()
        items = []
        for note, group in due:
            sub = self._subs.get(note.sub_id)
            if sub is not None:
                items.append((note, group, sub.destination))
        await self._run_sync(self._db().enqueue, items, now)
        self.deliverer.wake()

    async def _flush_loop(self) -> None:
        while True:
            self._regroup.clear()
            if await self.clock.until(self._regroup, self.dispatcher.next_change_due()):
                continue
            try:
                await self._flush(self._clock())
            except Exception:
                log.exception("flushing the alert groups failed; the next tick tries again")

    async def _tick_loop(self) -> None:
        last_prune = 0.0
        while True:
            await self.clock.sleep(TICK_S)
            now = self._clock()
            try:
                changes = self.evaluator.tick(now)
                for series, ep in self.tracker.tick(now):
                    if isinstance(series, SeriesLabels):
                        changes.extend(self.evaluator.observe_episode(series, ep))
                await self._apply(changes)
                if now - last_prune > 3600:
                    last_prune = now
                    await self._run_sync(self._db().prune, now - OUTBOX_KEEP_S)
            except Exception:
                log.exception("alert tick failed; next one in %.0f s", TICK_S)

    # Subscriptions -------------------------------------------------------------------------

    def _owned(self, owner: str, sub_id: str) -> Subscription:
        sub = self._subs.get(sub_id)
        if sub is None or sub.owner != owner:
            raise SubscriptionError(f"no subscription {sub_id!r} of yours", status=404)
        return sub

    async def _checked(self, dest: Destination | None) -> Destination:
        if dest is None:
            dest = self.config.default_destination
            if dest is None:
                raise SubscriptionError(
                    "where should the alerts go? No default channel is configured "
                    "(AGENT_BRUNO_ALERT_DEFAULT_URL); give a destination: a Slack incoming "
                    "webhook, a PagerDuty routing key, a webhook URL or an Alertmanager URL",
                    status=422,
                )
            return dest
        if dest.kind == "pagerduty" and dest.secret is None:
            raise SubscriptionError("a PagerDuty destination needs its routing key as `secret`")
        try:
            await check(dest.url, self.config.policy, self._resolve)
        except DestinationError as exc:
            raise SubscriptionError(str(exc)) from None
        return dest

    async def create(
        self,
        owner: str,
        rule: AnyRule,
        *,
        destination: Destination | None = None,
        name: str | None = None,
        timing: Timing | None = None,
        backtest_days: float = 7.0,
    ) -> tuple[Subscription, BacktestResult]:
        """Create a subscription after checking its destination; return it with its backtest."""
        if sum(1 for s in self._subs.values() if s.owner == owner) >= self.config.max_per_owner:
            raise SubscriptionError(
                f"you have {self.config.max_per_owner} subscriptions, the most allowed; "
                "delete some first",
                status=409,
            )
        dest = await self._checked(destination)
        now = self._clock()
        sub = Subscription(
            id="sub_" + secrets.token_hex(6),
            owner=owner,
            name=(name or describe(rule, short=True))[:200],
            rule=rule,
            destination=dest,
            timing=timing or self.config.timing,
            created_at=now,
            updated_at=now,
        )
        await self._run_sync(self._db().save_subscription, sub)
        self._subs[sub.id] = sub
        self.evaluator.set_subscriptions(self._subs.values())
        result = await self.backtest(rule, now - backtest_days * 86_400, now)
        return sub, result

    def owned(self, owner: str) -> list[Subscription]:
        """The owner's subscriptions, oldest first."""
        return [s for s in self._subs.values() if s.owner == owner]

    def get(self, owner: str, sub_id: str) -> Subscription:
        """One of the owner's subscriptions (404 for anyone else's)."""
        return self._owned(owner, sub_id)

    async def update(
        self,
        owner: str,
        sub_id: str,
        *,
        rule: AnyRule | None = None,
        name: str | None = None,
        destination: Destination | None = None,
        timing: Timing | None = None,
        paused: bool | None = None,
        snoozed_until: float | bool | None = False,  # False: unchanged; None: clear
    ) -> Subscription:
        """Change a subscription; a changed rule starts its alerts afresh."""
        sub = self._owned(owner, sub_id)
        changes: dict[str, Any] = {"updated_at": self._clock()}
        if rule is not None:
            changes["rule"] = rule
            if name is None and sub.name == describe(sub.rule, short=True):
                changes["name"] = describe(rule, short=True)[:200]
        if name is not None:
            changes["name"] = name[:200]
        if destination is not None:
            changes["destination"] = await self._checked(destination)
        if timing is not None:
            changes["timing"] = timing
        if paused is not None:
            changes["paused"] = paused
        if snoozed_until is not False:
            changes["snoozed_until"] = snoozed_until
        new = sub.with_changes(**changes)
        await self._run_sync(self._db().save_subscription, new)
        self._subs[sub_id] = new
        self.evaluator.set_subscriptions(self._subs.values())
        return new

    async def delete(self, owner: str, sub_id: str) -> Subscription:
        """Delete a subscription (notifications already queued are still delivered)."""
        sub = self._owned(owner, sub_id)
        await self._run_sync(self._db().delete_subscription, sub_id)
        del self._subs[sub_id]
        self.evaluator.set_subscriptions(self._subs.values())
        return sub

    async def outbox(self, owner: str, limit: int = 100) -> list[dict[str, Any]]:
        """The owner's recent notifications and their delivery status."""
        ids = [s.id for s in self.owned(owner)]
        return await self._run_sync(self._db().outbox, ids, limit)

    # Silences ------------------------------------------------------------------------------

    async def silence(
        self, owner: str, matchers: dict[str, str], starts: float, ends: float, comment: str = ""
    ) -> Silence:
        """Mute the owner's alerts matching every matcher between `starts` and `ends`."""
        if ends <= starts:
            raise SubscriptionError(f"a silence must end after it starts ({starts} ≥ {ends})")
        if not matchers:
            raise SubscriptionError(
                'a silence needs at least one matcher, e.g. {"location": "warehouse"}'
            )
        s = Silence("sil_" + secrets.token_hex(6), owner, dict(matchers), starts, ends, comment)
        await self._run_sync(self._db().save_silence, s)
        self._silences.append(s)
        return s

    def silences(self, owner: str) -> list[Silence]:
        """The owner's silences."""
        return [s for s in self._silences if s.owner == owner]

    async def unsilence(self, owner: str, silence_id: str) -> None:
        """Delete one of the owner's silences."""
        if not any(s.id == silence_id and s.owner == owner for s in self._silences):
            raise SubscriptionError(f"no silence {silence_id!r} of yours", status=404)
        await self._run_sync(self._db().delete_silence, silence_id)
        self._silences = [s for s in self._silences if s.id != silence_id]

    # Backtests -----------------------------------------------------------------------------

    async def backtest(self, rule: AnyRule, start: float, end: float) -> BacktestResult:
        """Run `rule` over stored history between `start` and `end`."""
        thresholds = self.config.thresholds
        return await asyncio.to_thread(backtest_rule, self._storage, rule, start, end, thresholds)

    def describe_backtest(self, result: BacktestResult, tz: tzinfo) -> str:
        """The backtest as a sentence."""
        return result.words(tz)

    def snapshot(self) -> dict[str, Any]:
        """Counts for /metrics and tests."""
        return {
            "subscriptions": len(self._subs),
            "firing": len(self.evaluator.firing()),
            "queued": len(self._queue),
            "outcomes": {f"{k}:{s}": n for (k, s), n in self.outcomes.items()},
        }

    def subscriptions(self) -> Sequence[Subscription]:
        """Every subscription (all owners), for the benchmarks and the demo."""
        return list(self._subs.values())
