"""Zero-downtime schema changes for revision authors: import in a revision and call in upgrade().

    from migration_toolkit import online

    online.create_index_concurrently("ix_book_title", "book", ["title"])
    online.backfill("author", "email = lower(name) || '@example.invalid'", where="email IS NULL")
    online.set_not_null("author", "email")

Steps that must not hold a lock for long run in an autocommit block: outside the revision's
transaction, each statement (each backfill batch) committing on its own. Each helper can be
re-run after an interruption and picks up where the last attempt stopped.
"""

from migration_toolkit.online.backfill import Progress, backfill
from migration_toolkit.online.columns import add_column_with_default
from migration_toolkit.online.constraints import (
    add_foreign_key_not_valid,
    set_not_null,
    validate_constraint,
)
from migration_toolkit.online.indexes import create_index_concurrently, drop_index_concurrently

__all__ = [
    "Progress",
    "add_column_with_default",
    "add_foreign_key_not_valid",
    "backfill",
    "create_index_concurrently",
    "drop_index_concurrently",
    "set_not_null",
    "validate_constraint",
]
