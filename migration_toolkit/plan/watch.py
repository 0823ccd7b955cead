"""What the migrating session really does: each statement's time, and the locks it holds.

SQLAlchemy's cursor events time every statement the migration connection runs; right after
each one, a second session reads pg_locks for the migrating backend (locks are held until
the transaction ends, so this sees what even an instant statement took), and a third samples
pg_locks every SAMPLE_EVERY seconds while statements run (a concurrent index build holds its
lock only while it runs). Only public interfaces: SQLAlchemy's events, `await_only` (as
run/simple_query.py uses it), asyncpg.
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from migration_toolkit.plan.locks import LockMode
from migration_toolkit.revisions import VERSION_TABLE
from migration_toolkit.run.checksums import CHECKSUM_TABLE

SAMPLE_EVERY = 0.02
Held = frozenset[tuple[str, LockMode]]
_LOCKS = f"""
SELECT c.oid::regclass::text AS name, l.mode FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted AND c.relkind IN ('r', 'p', 'm')
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND c.relname NOT IN ('{VERSION_TABLE}', '{CHECKSUM_TABLE}')
"""


@dataclass
class Executed:
    sql: str
    started: float
    ended: float = 0.0
    error: str | None = None
    held_after: Held = frozenset()


@dataclass
class Observation:
    at: float
    held: Held


@dataclass
class Recording:
    executed: list[Executed] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    commits: list[float] = field(default_factory=list)


async def held_by(connection: asyncpg.Connection, pid: int) -> Held:
    rows = await connection.fetch(_LOCKS, pid)
    return frozenset((row["name"], LockMode.from_pg_locks(row["mode"])) for row in rows)


class Watch:
    """Records while `recording` is set; sampling runs as a task beside the migration."""

    def __init__(
        self,
        engine: AsyncEngine,
        pid: int,
        capture: asyncpg.Connection,
        sampler: asyncpg.Connection,
    ) -> None:
        self.engine = engine
        self.pid = pid
        self.capture = capture
        self.sampler = sampler
        self.recording: Recording | None = None
        self.running = 0

    # -- SQLAlchemy events (in the migration's greenlet) -----------------------------------

    def before(self, conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        if self.recording is not None:
            self.recording.executed.append(Executed(statement, time.monotonic()))
            self.running += 1

    def after(self, conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        if self.recording is None or not self.recording.executed:
            return
        last = self.recording.executed[-1]
        last.ended = time.monotonic()
        self.running = 0
        last.held_after = await_only(held_by(self.capture, self.pid))
        self.recording.observations.append(Observation(last.ended, last.held_after))

    def failed(self, context: Any) -> None:
        if self.recording is not None and self.recording.executed:
            last = self.recording.executed[-1]
            if not last.ended:
                last.ended = time.monotonic()
                last.error = str(context.original_exception).strip().splitlines()[0]
            self.running = 0

    def committed(self, conn: Connection) -> None:
        if self.recording is not None:
            self.recording.commits.append(time.monotonic())

    @contextmanager
    def listening(self) -> Iterator[None]:
        target = self.engine.sync_engine
        hooks: list[tuple[str, Callable[..., Any]]] = [
            ("before_cursor_execute", self.before),
            ("after_cursor_execute", self.after),
            ("handle_error", self.failed),
            ("commit", self.committed),
        ]
        for name, hook in hooks:
            event.listen(target, name, hook)
        try:
            yield
        finally:
            for name, hook in hooks:
                event.remove(target, name, hook)

    # -- the sampler (a task on the event loop) --------------------------------------------

    async def sample(self) -> None:
        while True:
            if self.recording is not None and self.running:
                sent = time.monotonic()
                held = await held_by(self.sampler, self.pid)
                at = (sent + time.monotonic()) / 2
                if self.recording is not None:
                    self.recording.observations.append(Observation(at, held))
            await asyncio.sleep(SAMPLE_EVERY)
