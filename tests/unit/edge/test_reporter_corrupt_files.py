"""Issue 7, defect 10: a corrupt best-effort file stopped the reporter. A damaged raw store or
outbox is moved aside (counted, logged with its path), a fresh one starts, and triage and
delivery of criticals go on."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from edge_reporter.config import ReporterConfig
from edge_reporter.main import build
from edge_reporter.model import Reading
from edge_reporter.outbox import Outbox
from edge_reporter.status import Status
from edge_reporter.store import LocalStore, StoreError

T0 = 1_764_115_200.0
TOKEN = "k3Yq9-tW7xZ2pL0vR5mN"


def config(tmp_path: Path) -> ReporterConfig:
    return ReporterConfig.from_env(
        {
            "STUDIO_AGENT_URL": "http://agent:30120",
            "AGENT_TOKEN": TOKEN,
            "NODE_NAME": "pi-1",
            "LOCATION": "lab",
            "DATA_DIR": str(tmp_path),
            "SENSORS": "sim-dht22:dht22-1",
            "READ_API_PORT": "0",
        }
    )


def garbage(path: Path, size: int = 8192) -> None:
    path.write_bytes(b"this is not a SQLite database, it was cut by a power loss" * (size // 56))


def quarantined(tmp_path: Path, name: str) -> list[Path]:
    return sorted(tmp_path.glob(f"{name}.corrupt-*"))


@pytest.mark.parametrize("name", ["raw.db", "outbox.db"])
def test_a_corrupt_best_effort_file_stops_the_reporter(
    tmp_path: Path, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: a corrupt raw.db or outbox.db stopped the reporter at start (rc 1)."""
    garbage(tmp_path / name)
    rt = build(config(tmp_path), now=T0)
    try:
        assert [p.name.split(".corrupt-")[0] for p in quarantined(tmp_path, name)] == [name]
        assert f"QUARANTINED: {tmp_path / name} is damaged" in caplog.text
        kind = "raw_store" if name == "raw.db" else "outbox"
        assert rt.status.snapshot()["counters"] == {f"{kind}_quarantined": 1}
        rt.engine.sample(T0)  # triage and storage go on with the fresh file
        rt.engine.flush_due(T0)
        assert rt.outbox.depth() >= 1
    finally:
        rt.outbox.close()
        rt.store.close()


def test_a_truncated_raw_store_is_quarantined_too(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8)
    store.append(Reading(T0 + i, "s", "m", "u", float(i)) for i in range(5000))
    store.close()
    data = (tmp_path / "raw.db").read_bytes()
    (tmp_path / "raw.db").write_bytes(data[: len(data) // 3])
    (tmp_path / "raw.db-wal").unlink(missing_ok=True)
    status = Status()
    store = LocalStore(tmp_path / "raw.db", retention_days=7, max_bytes=10**8, status=status)
    failures = 0
    for i in range(3):  # the damage shows at the first write that touches it: one StoreError
        try:
            store.append([Reading(T0 + 6000 + i, "s", "m", "u", 1.0)])
        except StoreError:
            failures += 1
    assert failures <= 1
    store.append([Reading(T0 + 7000, "s", "m", "u", 1.0)])  # the fresh file takes it
    store.close()


def _corrupt_pages(path: Path, start_page: int, pages: int, page_size: int = 4096) -> None:
    with path.open("r+b") as f:
        f.seek(start_page * page_size)
        f.write(b"\xde\xad\xbe\xef" * (pages * page_size // 4))


def test_corrupted_outbox_pages_crash_the_reporter_at_runtime(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: damaged outbox pages raised an uncaught sqlite3.DatabaseError at runtime.
    Now the file is moved aside, what can still be read is kept, and a critical made after the
    damage is delivered."""
    caplog.set_level(logging.WARNING)
    status = Status()
    box = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=100_000, status=status)
    box.put_many([("aggregate", {"pad": "x" * 400, "n": n}) for n in range(2000)], now=T0)
    assert box._db is not None
    box._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _corrupt_pages(tmp_path / "outbox.db", start_page=20, pages=40)
    box._db.execute("PRAGMA shrink_memory")  # drop cached pages: the next read sees the disk
    # Whatever it touches next: none of these may raise.
    for _ in range(3):
        box.peek(500)
        box.depth()
        box.has_pending()
        box.oldest_age(T0)
        box.dropped()
    critical = box.put("critical", {"type": "reading", "severity": "critical"}, now=T0 + 1)
    pending = box.peek(5000)
    ids = [e.id for e in pending]
    assert critical in ids
    assert status.snapshot()["counters"].get("outbox_quarantined") == 1
    assert quarantined(tmp_path, "outbox.db")
    kept = [json.loads(e.body).get("n") for e in pending if e.kind == "aggregate"]
    assert kept, "what was readable before the damage is kept"
    assert len(set(kept)) == len(kept)
    box.ack(e.seq for e in pending)
    assert box.depth() == 0
    box.close()
    # The fresh file works after a restart.
    again = Outbox(tmp_path / "outbox.db", node="pi-1", max_events=100)
    again.put("heartbeat", {}, now=T0 + 2)
    assert again.depth() == 1
    again.close()
