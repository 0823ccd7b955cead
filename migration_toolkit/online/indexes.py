"""Indexes built and dropped without blocking writes (CONCURRENTLY, outside any transaction).

A build uses one core by default: Postgres would otherwise sort with parallel workers too
(max_parallel_maintenance_workers, 2 by default) and take every core of a small machine from
the app for as long as the sort lasts.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from alembic import op
from sqlalchemy import TextClause, text

from migration_toolkit.online import events
from migration_toolkit.online._sql import execute, offline, quote, scalar
from migration_toolkit.online.marks import helper


def drop_invalid_leftover(name: str) -> None:
    # A CREATE INDEX CONCURRENTLY that failed or was interrupted leaves an INVALID index behind:
    # never used for reads, still maintained on every write, and IF NOT EXISTS would keep it.
    valid = scalar(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)", name=quote(name)
    )
    if valid is False:
        execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(name)}")


@contextmanager
def parallel_workers(count: int | None) -> Iterator[None]:
    """The builds in the block use at most `count` parallel workers (None: the server's)."""
    if count is None or offline():
        yield
        return
    execute(f"SET max_parallel_maintenance_workers = {int(count)}")
    try:
        yield
    finally:
        execute("RESET max_parallel_maintenance_workers")


@helper
def create_index_concurrently(
    name: str,
    table: str,
    columns: Sequence[str | TextClause],
    *,
    unique: bool = False,
    where: str | None = None,
    workers: int | None = 0,
) -> None:
    """CREATE INDEX CONCURRENTLY IF NOT EXISTS, after dropping an INVALID leftover of the same name.

    Reads and writes go on while Postgres builds it. Runs outside the revision's transaction
    (what came before it in the revision is committed first). `workers`: parallel workers
    for the sort besides the migration's own process (None: the server's setting).
    """
    with (
        events.span("index", f"create {name}"),
        op.get_context().autocommit_block(),
        parallel_workers(workers),
    ):
        if not offline():
            drop_invalid_leftover(name)
        op.create_index(
            name,
            table,
            list(columns),
            unique=unique,
            if_not_exists=True,
            postgresql_concurrently=True,
            postgresql_where=text(where) if where else None,
        )


@helper
def drop_index_concurrently(name: str, table: str) -> None:
    """DROP INDEX CONCURRENTLY IF EXISTS: waits for queries using it instead of blocking them."""
    with events.span("index", f"drop {name}"), op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, if_exists=True, postgresql_concurrently=True)
