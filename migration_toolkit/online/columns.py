"""A column with a volatile default (gen_random_uuid(), clock_timestamp()) without a table rewrite.

`ADD COLUMN ... DEFAULT <volatile>` rewrites every row under an ACCESS EXCLUSIVE lock: no reads,
no writes until it is done. Instead: add it nullable (instant), set the default for new rows
(instant), fill existing rows in batches, then SET NOT NULL through a validated CHECK.
"""

from typing import Any, Unpack

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import TypeEngine

from migration_toolkit.online import events
from migration_toolkit.online._sql import column_nullable, offline, quote
from migration_toolkit.online.backfill import BackfillOptions, backfill
from migration_toolkit.online.constraints import set_not_null
from migration_toolkit.online.locks import short_lock
from migration_toolkit.online.marks import helper


@helper
def add_column_with_default(
    table: str,
    column: str,
    type_: TypeEngine[Any] | type[TypeEngine[Any]],
    default: str,
    *,
    nullable: bool = False,
    backfill_with: str | None = None,
    **pace: Unpack[BackfillOptions],
) -> None:
    """Add `column` with server default `default` (SQL), existing rows filled in batches.

    `backfill_with` is the SQL for existing rows when it differs from the default
    (e.g. `lower(title)`). With nullable=False the column ends NOT NULL, set safely. `pace`
    goes to backfill() (batch_size, batch_time, duty_cycle, pause, guard, progress).
    """
    with events.span("helper", f"add_column_with_default {table}.{column}"):
        with short_lock(table):
            if offline() or column_nullable(table, column) is None:
                op.add_column(table, sa.Column(column, type_, nullable=True))
            op.alter_column(table, column, server_default=sa.text(default))
        backfill(
            table,
            f"{quote(column)} = {backfill_with or default}",
            where=f"{quote(column)} IS NULL",
            **pace,
        )
        if not nullable:
            set_not_null(table, column)
