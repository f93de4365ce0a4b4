"""Retention: prune hot data after 30 days and rollups after a year, in small batches."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent_bruno.storage.base import PruneWrite, StorageError
from agent_bruno.storage.schema import FAULT_TABLES, HOT_TABLES, ROLLUP_TABLES
from agent_bruno.storage.writer import GroupCommitWriter

log = logging.getLogger(__name__)
DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long each kind of data is kept, and how many rows one transaction may delete."""

    hot_days: float = 30.0
    rollup_days: float = 365.0
    batch_rows: int = 5_000

    def cutoffs(self, now: float) -> dict[str, float]:
        """The time before which each table's rows are deleted."""
        hot = now - self.hot_days * DAY
        rollup = now - self.rollup_days * DAY
        rollups = (*ROLLUP_TABLES, *FAULT_TABLES)
        return {**dict.fromkeys(HOT_TABLES, hot), **dict.fromkeys(rollups, rollup)}


async def prune(writer: GroupCommitWriter, policy: RetentionPolicy, now: float) -> dict[str, int]:
    """Delete expired rows through the writer, one small transaction at a time; count them."""
    deleted: dict[str, int] = {}
    for table, before in policy.cutoffs(now).items():
        total = 0
        while True:
            outcome = await writer.submit(PruneWrite(table, before, policy.batch_rows))
            total += outcome.accepted
            if outcome.accepted < policy.batch_rows:
                break
            await asyncio.sleep(0)  # let ingest requests in between batches
        deleted[table] = total
    return deleted


async def run_periodically(
    writer: GroupCommitWriter,
    policy: RetentionPolicy,
    interval_s: float,
    clock: Callable[[], float] = time.time,
) -> None:
    """Prune now and then every `interval_s` seconds until cancelled; errors are logged."""
    while True:
        try:
            deleted = await prune(writer, policy, clock())
            if any(deleted.values()):
                log.info("retention deleted %s", deleted)
        except StorageError:
            log.exception("retention pass failed; retrying in %.0f s", interval_s)
        await asyncio.sleep(interval_s)
