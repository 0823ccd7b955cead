"""Zero-downtime schema changes for revision authors: import in a revision and call in upgrade().

    from migration_toolkit import online

    online.create_index_concurrently("ix_book_title", "book", ["title"])
    online.backfill("author", "email = lower(name) || '@example.invalid'", where="email IS NULL")
    online.set_not_null("author", "email")
    online.change_column_type("book", "author_id", "bigint")
    with online.short_lock("book"):
        op.add_column("book", sa.Column("note", sa.Text(), nullable=True))

Steps that must not hold a lock for long run in an autocommit block: outside the revision's
transaction, each statement (each backfill batch) committing on its own. Steps that need a
strong lock take it through short_lock(): a short wait, retried, released at once. Each helper
can be re-run after an interruption and picks up where the last attempt stopped. Each reports
its steps to the listeners of on_step() (and to MIGRATION_EVENT_LOG under `make migrate`).
"""

from migration_toolkit.online.backfill import BackfillOptions, Progress, backfill
from migration_toolkit.online.columns import add_column_with_default
from migration_toolkit.online.constraints import (
    add_foreign_key_not_valid,
    set_not_null,
    validate_constraint,
)
from migration_toolkit.online.events import Step, on_step
from migration_toolkit.online.guard import Guard
from migration_toolkit.online.indexes import create_index_concurrently, drop_index_concurrently
from migration_toolkit.online.locks import short_lock
from migration_toolkit.online.retype import (
    UnsupportedColumn,
    abandon_column_type_change,
    change_column_type,
)

__all__ = [
    "BackfillOptions",
    "Guard",
    "Progress",
    "Step",
    "UnsupportedColumn",
    "abandon_column_type_change",
    "add_column_with_default",
    "add_foreign_key_not_valid",
    "backfill",
    "change_column_type",
    "create_index_concurrently",
    "drop_index_concurrently",
    "on_step",
    "set_not_null",
    "short_lock",
    "validate_constraint",
]
