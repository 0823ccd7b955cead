"""Who blocks a migrating session: sampled from pg_locks while a revision waits for a lock.

A lock timeout only says "canceling statement due to lock timeout"; by the time it fires the
wait is gone from pg_locks. So while revisions run, a second connection looks every half
second and keeps the last blocker it saw, for the error message. It connects only once a run
has lasted one interval: a quick run never opens it.
"""

import asyncio
from types import TracebackType

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from migration_toolkit.errors import Blocker

_BLOCKER = text(
    "SELECT b.pid, w.relation::regclass::text AS relation, b.state, "
    "extract(epoch FROM now() - coalesce(b.xact_start, b.query_start))::float8 AS seconds, "
    "b.query FROM pg_locks w "
    "CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocking(pid) "
    "JOIN pg_stat_activity b ON b.pid = blocking.pid "
    "WHERE w.pid = :pid AND NOT w.granted ORDER BY b.xact_start NULLS LAST LIMIT 1"
)


class BlockerWatch:
    """Samples, from a connection of its own, who blocks the migrating session."""

    def __init__(self, engine: AsyncEngine, pid: int, interval: float) -> None:
        self.engine, self.pid, self.interval = engine, pid, interval
        self.last: Blocker | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "BlockerWatch":
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Stopped, not cancelled: a query cut off mid-flight would spoil the connection.
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _pause(self) -> bool:
        """Wait one interval; True when the run ended meanwhile."""
        try:
            await asyncio.wait_for(self._stop.wait(), self.interval)
            return True
        except TimeoutError:
            return False

    async def _watch(self) -> None:
        if await self._pause():
            return
        try:
            async with self.engine.connect() as connection:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await self._sample(connection)
        except OSError:
            return  # no spare connection: the error message just names no blocker

    async def _sample(self, connection: AsyncConnection) -> None:
        while True:
            row = (await connection.execute(_BLOCKER, {"pid": self.pid})).first()
            if row is not None:
                self.last = Blocker(row.pid, row.relation, row.state, row.seconds, row.query)
            if await self._pause():
                return


def held_by(blocker: Blocker | None) -> str:
    if blocker is None:
        return ""
    table = f" on {blocker.relation}" if blocker.relation else ""
    return f"{table} held by pid {blocker.pid}"
