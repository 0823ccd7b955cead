"""Constraints added without a long lock: NOT VALID first, validated in a transaction of its own.

Adding a constraint NOT VALID takes its lock only for an instant (short_lock: a short wait,
retried); VALIDATE then scans the table under a lock that lets reads and writes go on. Both
commit separately, or the first lock would be held through the scan.
"""

from collections.abc import Sequence

from alembic import op

from migration_toolkit.online import events
from migration_toolkit.online._sql import (
    column_nullable,
    constraint_exists,
    execute,
    offline,
    quote,
)
from migration_toolkit.online.locks import short_lock
from migration_toolkit.online.marks import helper

# Postgres truncates longer identifiers; names are kept within it so lookups match.
MAX_NAME = 63


@helper
def add_foreign_key_not_valid(
    name: str,
    source_table: str,
    referent_table: str,
    local_columns: Sequence[str],
    remote_columns: Sequence[str],
    *,
    ondelete: str | None = None,
) -> None:
    """ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID; new rows are checked at once.

    Existing rows are checked by validate_constraint(), best in a later revision.
    """
    if not offline() and constraint_exists(source_table, name):
        return
    with (
        events.span("helper", f"add_foreign_key_not_valid {name}"),
        short_lock(
            source_table, mode="SHARE ROW EXCLUSIVE", others={referent_table: "SHARE ROW EXCLUSIVE"}
        ),
    ):
        op.create_foreign_key(
            name,
            source_table,
            referent_table,
            list(local_columns),
            list(remote_columns),
            ondelete=ondelete,
            postgresql_not_valid=True,
        )


@helper
def validate_constraint(table: str, name: str) -> None:
    """VALIDATE CONSTRAINT in its own transaction; its lock lets reads and writes go on."""
    with events.span("validate", f"{table}.{name}"), op.get_context().autocommit_block():
        execute(f"ALTER TABLE {quote(table)} VALIDATE CONSTRAINT {quote(name)}")


def not_null_check_name(table: str, column: str) -> str:
    return f"ck_{table}_{column}_not_null"[:MAX_NAME]


@helper
def set_not_null(table: str, column: str) -> None:
    """SET NOT NULL without the full-table scan under an ACCESS EXCLUSIVE lock.

    CHECK (column IS NOT NULL) NOT VALID, VALIDATE it, SET NOT NULL (Postgres 12+ sees the valid
    check and skips its scan) and drop the check: each step commits on its own, and the two
    that need ACCESS EXCLUSIVE take it through short_lock, for an instant.
    """
    check = not_null_check_name(table, column)
    target, col = quote(table), quote(column)
    with events.span("helper", f"set_not_null {table}.{column}"):
        if not offline() and column_nullable(table, column) is False:
            if constraint_exists(table, check):
                with short_lock(table):
                    execute(f"ALTER TABLE {target} DROP CONSTRAINT IF EXISTS {quote(check)}")
            return
        if offline() or not constraint_exists(table, check):
            with short_lock(table):
                execute(
                    f"ALTER TABLE {target} ADD CONSTRAINT {quote(check)} "
                    f"CHECK ({col} IS NOT NULL) NOT VALID"
                )
        validate_constraint(table, check)
        with short_lock(table):
            execute(f"ALTER TABLE {target} ALTER COLUMN {col} SET NOT NULL")
            execute(f"ALTER TABLE {target} DROP CONSTRAINT IF EXISTS {quote(check)}")
