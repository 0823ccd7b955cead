"""Who blocks a migrating session: sampled from pg_locks while a revision waits for a lock.

A lock timeout only says "canceling statement due to lock timeout"; by the time it fires the
wait is gone from pg_locks. So while revisions run, the lock's idle connection looks every
half second and keeps the last blocker it saw, for the error message.
"""

import asyncio
from types import TracebackType

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage.errors import Blocker

_BLOCKER = text(
    "SELECT b.pid, w.relation::regclass::text AS relation, b.state, "
    "extract(epoch FROM now() - coalesce(b.xact_start, b.query_start))::float8 AS seconds, "
    "b.query FROM pg_locks w "
    "CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocking(pid) "
    "JOIN pg_stat_activity b ON b.pid = blocking.pid "
    "WHERE w.pid = :pid AND NOT w.granted ORDER BY b.xact_start NULLS LAST LIMIT 1"
)


class BlockerWatch:
    """Samples, from the lock's idle connection, who blocks the migrating session."""

    def __init__(self, connection: AsyncConnection, pid: int, interval: float) -> None:
        self.connection, self.pid, self.interval = connection, pid, interval
        self.last: Blocker | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "BlockerWatch":
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Stopped, not cancelled: a query cut off mid-flight would spoil the lock's connection.
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval)
                return
            except TimeoutError:
                pass
            row = (await self.connection.execute(_BLOCKER, {"pid": self.pid})).first()
            if row is not None:
                self.last = Blocker(row.pid, row.relation, row.state, row.seconds, row.query)


def held_by(blocker: Blocker | None) -> str:
    if blocker is None:
        return ""
    table = f" on {blocker.relation}" if blocker.relation else ""
    return f"{table} held by pid {blocker.pid}"
