"""Alert tables in the agent's SQLite database: subscriptions, alert states, groups, silences,
and the durable delivery outbox.

One connection of its own (WAL lets it write beside the ingest writer; its transactions are
small and rare: a notification, a state change). Every method is synchronous and is called from
one thread (the alert service's executor). A notification and the state of its group are
written in one transaction, so after a crash either both are there or neither is: nothing
notified is forgotten and nothing is notified twice by the dispatcher.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from agent_bruno.alerts.engine import State
from agent_bruno.alerts.model import RULE_ADAPTER, Timing
from agent_bruno.alerts.routing import AlertView, GroupState, Notification, Silence
from agent_bruno.alerts.subscription import Destination, Subscription
from agent_bruno.storage.schema import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_subscriptions (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    name          TEXT NOT NULL,
    rule          TEXT NOT NULL,
    destination   TEXT NOT NULL,
    timing        TEXT NOT NULL,
    paused        INTEGER NOT NULL DEFAULT 0,
    snoozed_until REAL,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_subscriptions_owner ON alert_subscriptions (owner);

CREATE TABLE IF NOT EXISTS alert_states (
    sub_id      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    labels      TEXT NOT NULL,
    state       TEXT NOT NULL,
    PRIMARY KEY (sub_id, fingerprint)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS alert_groups (
    key    TEXT PRIMARY KEY,
    sub_id TEXT NOT NULL,
    state  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS alert_silences (
    id       TEXT PRIMARY KEY,
    owner    TEXT NOT NULL,
    matchers TEXT NOT NULL,
    starts   REAL NOT NULL,
    ends     REAL NOT NULL,
    comment  TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS alert_outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    lane         TEXT NOT NULL,
    sub_id       TEXT NOT NULL,
    destination  TEXT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_error   TEXT,
    created_at   REAL NOT NULL,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS alert_outbox_pending ON alert_outbox (status, lane, seq);
"""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One queued notification for one destination."""

    seq: int
    id: str
    lane: str
    sub_id: str
    destination: Destination
    note: Notification
    attempts: int
    next_attempt: float
    created_at: float


def _state_json(st: State) -> str:
    return orjson.dumps(asdict(st)).decode()


def _state_from(text: str) -> State:
    data = orjson.loads(text)
    data["window"] = [tuple(w) for w in data.get("window", [])]
    data["last_ts"] = -math.inf if data.get("last_ts") is None else float(data["last_ts"])
    return State(**data)


def _sub_from(row: Sequence[Any]) -> Subscription:
    return Subscription(
        id=row[0],
        owner=row[1],
        name=row[2],
        rule=RULE_ADAPTER.validate_json(row[3]),
        destination=Destination.model_validate_json(row[4]),
        timing=Timing.model_validate_json(row[5]),
        paused=bool(row[6]),
        snoozed_until=row[7],
        created_at=row[8],
        updated_at=row[9],
    )


_SUB_COLUMNS = (
    "id, owner, name, rule, destination, timing, paused, snoozed_until, created_at, updated_at"
)


class AlertStore:
    """The alert tables, on a connection of their own."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = connect(path)
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    # Subscriptions -------------------------------------------------------------------------

    def save_subscription(self, sub: Subscription) -> None:
        """Insert or replace a subscription."""
        self.conn.execute(
            f"INSERT OR REPLACE INTO alert_subscriptions ({_SUB_COLUMNS}) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sub.id,
                sub.owner,
                sub.name,
                sub.rule.model_dump_json(),
                orjson.dumps(sub.destination.stored()).decode(),
                sub.timing.model_dump_json(),
                int(sub.paused),
                sub.snoozed_until,
                sub.created_at,
                sub.updated_at,
            ),
        )

    def delete_subscription(self, sub_id: str) -> None:
        """Delete a subscription with its states and groups (queued notifications still go)."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("DELETE FROM alert_subscriptions WHERE id = ?", (sub_id,))
            self.conn.execute("DELETE FROM alert_states WHERE sub_id = ?", (sub_id,))
            self.conn.execute("DELETE FROM alert_groups WHERE sub_id = ?", (sub_id,))

    def subscriptions(self) -> list[Subscription]:
        """Every subscription, oldest first."""
        rows = self.conn.execute(
            f"SELECT {_SUB_COLUMNS} FROM alert_subscriptions ORDER BY created_at, id"  # noqa: S608
        )
        return [_sub_from(r) for r in rows]

    # Alert states and groups ---------------------------------------------------------------

    def save_states(self, changed: Iterable[tuple[str, str, dict[str, str], State]]) -> None:
        """Persist alert states after a change (inactive ones are deleted)."""
        rows = list(changed)
        if not rows:
            return
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            for sub_id, fp, labels, st in rows:
                if st.status == "inactive":
                    self.conn.execute(
                        "DELETE FROM alert_states WHERE sub_id = ? AND fingerprint = ?",
                        (sub_id, fp),
                    )
                else:
                    self.conn.execute(
                        "INSERT OR REPLACE INTO alert_states VALUES (?, ?, ?, ?)",
                        (sub_id, fp, orjson.dumps(labels).decode(), _state_json(st)),
                    )

    def states(self) -> list[tuple[str, dict[str, str], State]]:
        """Every persisted (pending or firing) alert state."""
        rows = self.conn.execute("SELECT sub_id, labels, state FROM alert_states")
        return [(r[0], orjson.loads(r[1]), _state_from(r[2])) for r in rows]

    def groups(self) -> list[GroupState]:
        """What every group last sent."""
        out = []
        for key, sub_id, text in self.conn.execute("SELECT key, sub_id, state FROM alert_groups"):
            data = orjson.loads(text)
            sent = {fp: AlertView.from_json(v) for fp, v in data["sent"].items()}
            out.append(GroupState(key, sub_id, data["seq"], data["last_sent"], sent))
        return out

    # The outbox ----------------------------------------------------------------------------

    def enqueue(
        self,
        items: Sequence[tuple[Notification, GroupState, Destination]],
        now: float,
    ) -> int:
        """Queue notifications and save their groups' states, in one transaction."""
        if not items:
            return 0
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            for note, group, dest in items:
                self.conn.execute(
                    "INSERT OR IGNORE INTO alert_outbox (id, lane, sub_id, destination, payload, "
                    "next_attempt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        note.id,
                        f"{note.group_key}>{dest.kind}",
                        note.sub_id,
                        orjson.dumps(dest.stored()).decode(),
                        orjson.dumps(note.as_json()).decode(),
                        now,
                        now,
                    ),
                )
                state = {
                    "seq": group.seq,
                    "last_sent": group.last_sent,
                    "sent": {fp: v.as_json() for fp, v in group.sent.items()},
                }
                self.conn.execute(
                    "INSERT OR REPLACE INTO alert_groups VALUES (?, ?, ?)",
                    (group.key, group.sub_id, orjson.dumps(state).decode()),
                )
        return len(items)

    def heads(self, now: float, limit: int = 256) -> tuple[list[OutboxRow], float | None]:
        """The oldest pending notification of each lane that is due, and when the next
        not-yet-due one is (lanes deliver in order: a resolve never overtakes its firing)."""
        rows = self.conn.execute(
            "SELECT o.seq, o.id, o.lane, o.sub_id, o.destination, o.payload, o.attempts, "
            "o.next_attempt, o.created_at FROM alert_outbox o "
            "JOIN (SELECT lane, MIN(seq) AS seq FROM alert_outbox WHERE status = 'pending' "
            "GROUP BY lane) h ON o.seq = h.seq ORDER BY o.next_attempt LIMIT ?",
            (limit * 4,),
        ).fetchall()
        due: list[OutboxRow] = []
        later: float | None = None
        for r in rows:
            if r[7] > now:
                later = r[7] if later is None else min(later, r[7])
                continue
            if len(due) < limit:
                due.append(
                    OutboxRow(
                        r[0],
                        r[1],
                        r[2],
                        r[3],
                        Destination.model_validate_json(r[4]),
                        Notification.from_json(orjson.loads(r[5])),
                        r[6],
                        r[7],
                        r[8],
                    )
                )
        return due, later

    def mark(
        self,
        seq: int,
        status: str,
        attempts: int,
        next_attempt: float,
        error: str | None,
        now: float,
    ) -> None:
        """Record the outcome of an attempt."""
        self.conn.execute(
            "UPDATE alert_outbox SET status = ?, attempts = ?, next_attempt = ?, last_error = ?, "
            "delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END WHERE seq = ?",
            (status, attempts, next_attempt, error, status, now, seq),
        )

    def outbox(
        self, sub_ids: Sequence[str] | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Recent outbox rows, newest first (for the API and tests)."""
        sql = (
            "SELECT id, sub_id, status, attempts, last_error, created_at, delivered_at, payload "
            "FROM alert_outbox"
        )
        params: list[Any] = []
        if sub_ids is not None:
            if not sub_ids:
                return []
            sql += f" WHERE sub_id IN ({','.join('?' * len(sub_ids))})"
            params.extend(sub_ids)
        sql += " ORDER BY seq DESC LIMIT ?"
        params.append(limit)
        out = []
        for r in self.conn.execute(sql, params):
            note = orjson.loads(r[7])
            out.append(
                {
                    "id": r[0],
                    "subscription": r[1],
                    "status": r[2],
                    "attempts": r[3],
                    "last_error": r[4],
                    "created_at": r[5],
                    "delivered_at": r[6],
                    "title": note["title"],
                    "notification_status": note["status"],
                }
            )
        return out

    def pending_count(self) -> int:
        """Notifications not yet delivered or given up."""
        (n,) = self.conn.execute(
            "SELECT COUNT(*) FROM alert_outbox WHERE status = 'pending'"
        ).fetchone()
        return int(n)

    def prune(self, before: float) -> int:
        """Delete delivered and failed rows older than `before`."""
        cur = self.conn.execute(
            "DELETE FROM alert_outbox WHERE status != 'pending' AND created_at < ?", (before,)
        )
        return max(cur.rowcount, 0)

    # Silences ------------------------------------------------------------------------------

    def save_silence(self, s: Silence) -> None:
        """Insert or replace a silence."""
        self.conn.execute(
            "INSERT OR REPLACE INTO alert_silences VALUES (?, ?, ?, ?, ?, ?)",
            (s.id, s.owner, orjson.dumps(s.matchers).decode(), s.starts, s.ends, s.comment),
        )

    def delete_silence(self, silence_id: str) -> None:
        """Delete a silence."""
        self.conn.execute("DELETE FROM alert_silences WHERE id = ?", (silence_id,))

    def silences(self) -> list[Silence]:
        """Every silence."""
        rows = self.conn.execute(
            "SELECT id, owner, matchers, starts, ends, comment FROM alert_silences ORDER BY starts"
        )
        return [Silence(r[0], r[1], orjson.loads(r[2]), r[3], r[4], r[5]) for r in rows]
