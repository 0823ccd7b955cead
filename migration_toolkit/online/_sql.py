"""What every helper needs: quoting, offline detection, and queries on the current connection."""

from typing import Any

from alembic import op
from sqlalchemy import text


def quote(name: str) -> str:
    """An identifier quoted the way Postgres needs it (only when it needs it)."""
    return str(op.get_context().dialect.identifier_preparer.quote(name))


def offline() -> bool:
    """True under `alembic upgrade --sql`: nothing can be read from a database."""
    return bool(op.get_context().as_sql)


def scalar(sql: str, **params: Any) -> Any:
    return op.get_bind().execute(text(sql), params).scalar()


def execute(sql: str, **params: Any) -> int:
    """Run one statement; the number of rows it touched."""
    if offline():
        op.execute(sql)
        return 0
    return int(op.get_bind().execute(text(sql), params).rowcount)


def constraint_exists(table: str, name: str) -> bool:
    return bool(
        scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint "
            "WHERE conrelid = to_regclass(:table) AND conname = :name)",
            table=quote(table),
            name=name,
        )
    )


def column_nullable(table: str, column: str) -> bool | None:
    """Whether the column accepts NULL; None when it does not exist."""
    not_null = scalar(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = to_regclass(:table) "
        "AND attname = :column AND NOT attisdropped",
        table=quote(table),
        column=column,
    )
    return None if not_null is None else not not_null
