"""Which column type changes Postgres makes in its catalog only (the lint lets those be)."""

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel.sql.sqltypes import AutoString

from migration_toolkit.checks.type_changes import (
    rewrite_free,
    rewrite_free_columns,
    statement_column,
)


@pytest.mark.parametrize(
    ("old", "new", "free"),
    [
        (sa.VARCHAR(255), AutoString(length=500), True),
        (sa.VARCHAR(255), sa.Text(), True),
        (sa.VARCHAR(255), sa.VARCHAR(), True),
        (sa.Numeric(10, 2), sa.Numeric(12, 2), True),
        (sa.VARCHAR(500), sa.VARCHAR(255), False),
        (sa.TEXT(), sa.VARCHAR(255), False),
        (sa.Integer(), sa.BigInteger(), False),
        (sa.BigInteger(), sa.Integer(), False),
        (sa.Numeric(10, 2), sa.Numeric(12, 3), False),
    ],
)
def test_catalog_only_changes(
    old: sa.types.TypeEngine[object], new: sa.types.TypeEngine[object], free: bool
) -> None:
    assert rewrite_free(old, new) is free


def test_the_types_are_read_from_the_revision_never_run(tmp_path: Path) -> None:
    revision = tmp_path / "revision.py"
    revision.write_text(
        "import sqlalchemy as sa\n"
        "import sqlmodel.sql.sqltypes\n"
        "from alembic import op\n\n\n"
        "def upgrade() -> None:\n"
        '    op.alter_column("book", "title", existing_type=sa.VARCHAR(length=255),\n'
        "                    type_=sqlmodel.sql.sqltypes.AutoString(length=500))\n"
        '    op.alter_column("book", "pages", existing_type=sa.INTEGER(), type_=sa.BigInteger())\n'
        '    op.alter_column("book", "note", existing_type=sa.VARCHAR(10), type_=open("x"))\n'
    )
    assert rewrite_free_columns(revision) == {("book", "title")}
    assert statement_column("ALTER TABLE public.book ALTER COLUMN title TYPE VARCHAR(500);") == (
        "book",
        "title",
    )
