"""Indexes built and dropped without blocking writes (CONCURRENTLY, outside any transaction)."""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import TextClause, text

from migration_toolkit.online import events
from migration_toolkit.online._sql import execute, offline, quote, scalar


def drop_invalid_leftover(name: str) -> None:
    # A CREATE INDEX CONCURRENTLY that failed or was interrupted leaves an INVALID index behind:
    # never used for reads, still maintained on every write, and IF NOT EXISTS would keep it.
    valid = scalar(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)", name=quote(name)
    )
    if valid is False:
        execute(f"DROP INDEX CONCURRENTLY IF EXISTS {quote(name)}")


def create_index_concurrently(
    name: str,
    table: str,
    columns: Sequence[str | TextClause],
    *,
    unique: bool = False,
    where: str | None = None,
) -> None:
    """CREATE INDEX CONCURRENTLY IF NOT EXISTS, after dropping an INVALID leftover of the same name.

    Reads and writes go on while Postgres builds it. Runs outside the revision's transaction
    (what came before it in the revision is committed first).
    """
    with events.span("index", f"create {name}"), op.get_context().autocommit_block():
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


def drop_index_concurrently(name: str, table: str) -> None:
    """DROP INDEX CONCURRENTLY IF EXISTS: waits for queries using it instead of blocking them."""
    with events.span("index", f"drop {name}"), op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, if_exists=True, postgresql_concurrently=True)
