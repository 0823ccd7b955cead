"""Running the zero-downtime helpers the way a revision does: under Alembic's `op`, on a real DB."""

from collections.abc import Callable
from typing import TypeVar

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

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
