"""Change a column's type without rewriting the table under a lock: a new column kept in step.

`ALTER COLUMN ... TYPE` rewrites the whole table and rebuilds its indexes under ACCESS
EXCLUSIVE: no reads, no writes, for as long as that takes (unless the change is binary
compatible, as varchar(n) to varchar(m > n) or text, which is a catalog change only). Instead:

1. a new column of the new type (nullable: instant) and a trigger setting it from the old one
   on every insert and update, so writes keep it in step from then on;
2. existing rows filled by backfill() (paced batches);
3. what hangs on the old column rebuilt on the new one while reads and writes go on: NOT NULL
   (through a validated CHECK), indexes (CONCURRENTLY), foreign keys (NOT VALID, validated);
4. the swap, under a short lock: trigger and old column dropped (its indexes and foreign keys
   with it), the new column, its indexes and constraints renamed to the old names, the default
   set. Every step is a catalog change: the lock lasts milliseconds.

Re-run after an interruption, it goes on where it stopped; run when the column already has
the type, it does nothing. The downgrade is the same call with the old type.
"""

from typing import Any, Unpack

from alembic import op
from sqlalchemy.types import TypeEngine

from migration_toolkit.online import events
from migration_toolkit.online._dependents import (
    Column,
    Dependents,
    UnsupportedColumn,
    read_column,
    read_dependents,
)
from migration_toolkit.online._sql import constraint_exists, execute, offline, quote, scalar
from migration_toolkit.online.backfill import BackfillOptions, backfill
from migration_toolkit.online.constraints import (
    MAX_NAME,
    not_null_check_name,
    set_not_null,
    validate_constraint,
)
from migration_toolkit.online.indexes import drop_invalid_leftover, parallel_workers
from migration_toolkit.online.locks import short_lock

__all__ = ["UnsupportedColumn", "abandon_column_type_change", "change_column_type"]

TypeArg = str | TypeEngine[Any] | type[TypeEngine[Any]]


def shadow_name(column: str) -> str:
    """The new column while the change runs."""
    return f"_new_{column}"[:MAX_NAME]


def _trigger_name(table: str, column: str) -> str:
    return f"{table}_{column}_retype"[:MAX_NAME]


def _type_sql(type_: TypeArg) -> str:
    if isinstance(type_, str):
        return type_
    engine = type_() if isinstance(type_, type) else type_
    return str(engine.compile(dialect=op.get_context().dialect))


def _conversion(column: str, new_type: str, using: str | None) -> str:
    return f"({using})" if using else f"{quote(column)}::{new_type}"


def _same_type(table: str, column: str, new_type: str) -> bool:
    """Whether the column has the type already (typmods compared on Postgres 17+ only)."""
    if (op.get_bind().dialect.server_version_info or (0,)) >= (17,):
        check = "format_type(to_regtype(:t), to_regtypemod(:t))"
    else:
        check = "CASE WHEN :t LIKE '%(%' THEN NULL ELSE format_type(to_regtype(:t), NULL) END"
    return bool(
        scalar(
            f"SELECT format_type(atttypid, atttypmod) = {check} FROM pg_attribute "
            "WHERE attrelid = to_regclass(:table) AND attname = :column AND NOT attisdropped",
            t=new_type,
            table=quote(table),
            column=column,
        )
    )


def _trigger_body(table: str, column: str, shadow: str, new_type: str, using: str | None) -> str:
    # `using` names the row's columns: it is evaluated over NEW, aliased as the table.
    assign = (
        f"SELECT ({using}) INTO NEW.{quote(shadow)} FROM (SELECT NEW.*) AS {quote(table)};"
        if using
        else f"NEW.{quote(shadow)} := NEW.{quote(column)}::{new_type};"
    )
    return f"BEGIN\n  {assign}\n  RETURN NEW;\nEND"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _expand(table: str, column: str, shadow: str, new_type: str, using: str | None) -> None:
    trigger, target = _trigger_name(table, column), quote(table)
    body = _trigger_body(table, column, shadow, new_type, using)
    with short_lock(table):
        execute(f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {quote(shadow)} {new_type}")
        execute(
            f"CREATE OR REPLACE FUNCTION {quote(trigger)}() RETURNS trigger "
            f"LANGUAGE plpgsql AS $retype$\n{body}\n$retype$"
        )
        execute(f"DROP TRIGGER IF EXISTS {quote(trigger)} ON {target}")
        execute(
            f"CREATE TRIGGER {quote(trigger)} BEFORE INSERT OR UPDATE ON {target} "
            f"FOR EACH ROW EXECUTE FUNCTION {quote(trigger)}()"
        )


def _copy_dependents(table: str, found: Dependents) -> None:
    for index in found.indexes:
        with (
            events.span("index", f"create {index.temp}"),
            op.get_context().autocommit_block(),
            parallel_workers(0),
        ):
            drop_invalid_leftover(index.temp)
            execute(index.create)
    for key in found.foreign_keys:
        if not constraint_exists(table, key.temp):
            with short_lock(
                table, mode="SHARE ROW EXCLUSIVE", others={key.referent: "SHARE ROW EXCLUSIVE"}
            ):
                execute(key.add)
        validate_constraint(table, key.temp)


def _swap(table: str, column: str, shadow: str, old: Column, found: Dependents) -> None:
    target, new = quote(table), quote(column)
    trigger = quote(_trigger_name(table, column))
    # Dropping the old foreign keys takes their triggers off the referenced tables.
    others = {key.referent: "SHARE ROW EXCLUSIVE" for key in found.foreign_keys}
    with events.span("swap", f"{table}.{column}"), short_lock(table, others=others):
        execute(f"DROP TRIGGER IF EXISTS {trigger} ON {target}")
        if old.sequence:
            execute(f"ALTER SEQUENCE {old.sequence} OWNED BY {target}.{quote(shadow)}")
        execute(f"ALTER TABLE {target} DROP COLUMN {new}")
        execute(f"ALTER TABLE {target} RENAME COLUMN {quote(shadow)} TO {new}")
        if old.default is not None:
            execute(f"ALTER TABLE {target} ALTER COLUMN {new} SET DEFAULT {old.default}")
        for index in found.indexes:
            execute(index.swap)
        for key in found.foreign_keys:
            renamed = f"{quote(key.temp)} TO {quote(key.name)}"
            execute(f"ALTER TABLE {target} RENAME CONSTRAINT {renamed}")
        if old.not_null_name:
            _rename_not_null(table, column, old.not_null_name)
        if old.comment is not None:
            execute(f"COMMENT ON COLUMN {target}.{new} IS {_literal(old.comment)}")
        execute(f"DROP FUNCTION IF EXISTS {trigger}()")


def _rename_not_null(table: str, column: str, name: str) -> None:
    """Postgres 18+ names NOT NULL constraints: the new column's takes the old one's name."""
    current = scalar(
        "SELECT c.conname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid "
        "AND a.attnum = ANY(c.conkey) WHERE c.conrelid = to_regclass(:table) "
        "AND c.contype::text = 'n' AND a.attname = :column",
        table=quote(table),
        column=column,
    )
    if current is not None and current != name:
        execute(f"ALTER TABLE {quote(table)} RENAME CONSTRAINT {quote(current)} TO {quote(name)}")


def _offline(table: str, column: str, shadow: str, new_type: str, conversion: str) -> None:
    """`--sql`: the steps, without what only the catalog can tell (indexes, constraints)."""
    target = quote(table)
    op.execute(f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {quote(shadow)} {new_type}")
    op.execute(f"-- a trigger sets {shadow} = {conversion} on every insert and update")
    op.execute(f"UPDATE {target} SET {quote(shadow)} = {conversion}")
    op.execute(f"-- indexes and foreign keys of {column} rebuilt on {shadow}, then swapped:")
    # The column keeps its name for the code, with the new type: squawk's own ignores say so.
    op.execute(
        f"-- squawk-ignore ban-drop-column\nALTER TABLE {target} DROP COLUMN {quote(column)}"
    )
    op.execute(
        "-- squawk-ignore renaming-column\n"
        f"ALTER TABLE {target} RENAME COLUMN {quote(shadow)} TO {quote(column)}"
    )


def change_column_type(
    table: str,
    column: str,
    new_type: TypeArg,
    *,
    using: str | None = None,
    **pace: Unpack[BackfillOptions],
) -> None:
    """Change table.column to new_type (SQL, or a SQLAlchemy type) without a long lock.

    `using` is the conversion as an SQL expression over the row's columns (default: a cast of
    the column). `pace` goes to backfill() (batch_size, batch_time, duty_cycle, guard, ...).
    The column moves to the end of the table's column order. Refused, before any change, when
    something depends on the column that cannot be carried over (UnsupportedColumn says what).
    """
    type_sql = _type_sql(new_type)
    shadow = shadow_name(column)
    conversion = _conversion(column, type_sql, using)
    with events.span("helper", f"change_column_type {table}.{column} to {type_sql}"):
        if offline():
            _offline(table, column, shadow, type_sql, conversion)
            return
        if scalar("SELECT to_regtype(:t) IS NULL", t=type_sql):
            raise ValueError(f"change_column_type: Postgres knows no type {type_sql!r}")
        old = read_column(table, column)
        if old is None:
            raise UnsupportedColumn(f"change_column_type: {table}.{column} does not exist")
        in_progress = read_column(table, shadow)
        if in_progress is None and _same_type(table, column, type_sql):
            return
        if in_progress is not None and not _same_type(table, shadow, type_sql):
            raise UnsupportedColumn(
                f"change_column_type: an earlier change of {table}.{column} to "
                f"{in_progress.type} was interrupted: finish it with that type, or undo it with "
                f"online.abandon_column_type_change({table!r}, {column!r})"
            )
        found = read_dependents(
            table, column, old.attnum, shadow, ignore={not_null_check_name(table, column)}
        )
        _expand(table, column, shadow, type_sql, using)
        backfill(
            table,
            f"{quote(shadow)} = {conversion}",
            where=f"{quote(shadow)} IS DISTINCT FROM {conversion}",
            **pace,
        )
        if old.not_null:
            set_not_null(table, shadow)
        _copy_dependents(table, found)
        _swap(table, column, shadow, old, found)


def abandon_column_type_change(table: str, column: str) -> None:
    """Undo an interrupted change_column_type: the trigger and the new column (with the indexes
    and constraints built on it) are dropped; the old column is as it was."""
    trigger = quote(_trigger_name(table, column))
    with events.span("helper", f"abandon_column_type_change {table}.{column}"), short_lock(table):
        execute(f"DROP TRIGGER IF EXISTS {trigger} ON {quote(table)}")
        execute(f"ALTER TABLE {quote(table)} DROP COLUMN IF EXISTS {quote(shadow_name(column))}")
        execute(f"DROP FUNCTION IF EXISTS {trigger}()")
