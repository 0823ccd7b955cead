"""expand: add author email, nullable

Revision ID: 3a0e1c5d7b01
Revises: 8ef2faae17b8
Create Date: 2026-11-26 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3a0e1c5d7b01"
down_revision: str | Sequence[str] | None = "8ef2faae17b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable and without a default: a catalog change only, no table rewrite.
    op.add_column("author", sa.Column("email", sa.String(320), nullable=True))


def downgrade() -> None:
    op.drop_column("author", "email")
