"""contract: author email NOT NULL

Revision ID: 3a0e1c5d7b03
Revises: 3a0e1c5d7b02
Create Date: 2026-11-26 09:02:00+00:00
"""

from collections.abc import Sequence

from alembic import op

from migration_toolkit import online

revision: str = "3a0e1c5d7b03"
down_revision: str | Sequence[str] | None = "3a0e1c5d7b02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # CHECK NOT VALID, VALIDATE, SET NOT NULL, drop the check: no long ACCESS EXCLUSIVE lock.
    online.set_not_null("author", "email")


def downgrade() -> None:
    op.alter_column("author", "email", nullable=True)
