"""Running the zero-downtime helpers the way a revision does: under Alembic's `op`, on a real DB."""

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import asyncpg
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from migration_toolkit import online
from tests.support import pg

T = TypeVar("T")


def run_ops(url: URL, step: Callable[[], T]) -> T:
    """Call step() inside a per-migration transaction, as env.py runs upgrade()."""

    async def run() -> T:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:

                def work(sync_connection: Connection) -> T:
                    context = MigrationContext.configure(
                        sync_connection, opts={"transaction_per_migration": True}
                    )
                    with (
                        Operations.context(context),
                        context.begin_transaction(_per_migration=True),
                    ):
                        return step()

                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return pg.run_sync(run)


def index_valid(url: URL, name: str) -> bool | None:
    """pg_index.indisvalid of the index; None when there is no such index."""
    rows = pg.fetch(url, "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)", name)
    return rows[0]["indisvalid"] if rows else None


def constraint_validated(url: URL, table: str, name: str) -> bool | None:
    rows = pg.fetch(
        url,
        "SELECT convalidated FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2",
        table,
        name,
    )
    return rows[0]["convalidated"] if rows else None


def not_null(url: URL, table: str, column: str) -> bool:
    rows = pg.fetch(
        url,
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2",
        table,
        column,
    )
    return bool(rows[0]["attnotnull"])


def relfilenode(url: URL, table: str) -> int:
    """Changes when Postgres rewrites the table."""
    rows = pg.fetch(url, "SELECT relfilenode FROM pg_class WHERE oid = to_regclass($1)", table)
    return int(rows[0]["relfilenode"])


class Session(threading.Thread):
    """A second session doing its own work on a connection of its own while a helper runs.

    `work(connection, stop)` runs in a thread with its own event loop until it returns; it
    should return soon after `stop` is set. Its exception, if any, is raised by `join()`.
    """

    def __init__(
        self,
        url: URL,
        work: Callable[[asyncpg.Connection, threading.Event], Awaitable[None]],
    ) -> None:
        super().__init__(daemon=True)
        self.url, self.work = url, work
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        async def main() -> None:
            connection = await pg.connect(self.url)
            self.ready.set()
            try:
                await self.work(connection, self.stop)
            finally:
                await connection.close()

        try:
            asyncio.run(main())
        except BaseException as error:
            self.error = error
        finally:
            self.ready.set()

    def __enter__(self) -> "Session":
        self.start()
        self.ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.join(30)
        if self.error is not None:
            raise self.error


def holding(
    sql: str, seconds: float
) -> Callable[[asyncpg.Connection, threading.Event], Awaitable[None]]:
    """Work for a Session: run sql in a transaction, keep it open `seconds`, commit."""

    async def work(connection: asyncpg.Connection, stop: threading.Event) -> None:
        async with connection.transaction():
            await connection.execute(sql)
            await asyncio.sleep(seconds)

    return work


def probing(
    sql: str, latencies: list[float], every: float = 0.02
) -> Callable[[asyncpg.Connection, threading.Event], Awaitable[None]]:
    """Work for a Session: run sql every `every` seconds until stopped, timing each run."""

    async def work(connection: asyncpg.Connection, stop: threading.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            await connection.execute(sql)
            latencies.append(time.monotonic() - started)
            await asyncio.sleep(every)

    return work


def steps_of(kinds: Iterable[str]) -> tuple[list[online.Step], Callable[[], None]]:
    """The steps the helpers report from now on (only those of `kinds`), and how to stop."""
    wanted = set(kinds)
    seen: list[online.Step] = []
    stop = online.on_step(lambda step: seen.append(step) if step.kind in wanted else None)
    return seen, stop
