"""backfill author email, in batches

Revision ID: 3a0e1c5d7b02
Revises: 3a0e1c5d7b01
Create Date: 2026-11-26 09:01:00+00:00
"""

from collections.abc import Sequence

from migration_toolkit import online

revision: str = "3a0e1c5d7b02"
down_revision: str | Sequence[str] | None = "3a0e1c5d7b01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batches of about 0.1 s (the first of 5,000 authors), each its own transaction, with rests
    # between them; re-running after an interruption resumes.
    online.backfill(
        "author",
        "email = lower(name) || '@example.invalid'",
        where="email IS NULL",
        batch_size=5_000,
    )


def downgrade() -> None:
    # The values stay; the expand revision's downgrade drops the column.
    pass
