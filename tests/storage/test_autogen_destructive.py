"""Which operations are flagged, and how the flag reads in the generated file."""

import sqlalchemy as sa
from alembic.autogenerate import render_python_code
from alembic.operations import ops

from migration_toolkit.autogen import render_item
from migration_toolkit.autogen.destructive import ReviewNote, flag, risk


def alter(**kw: object) -> ops.AlterColumnOp:
    return ops.AlterColumnOp("book", "title", **kw)  # type: ignore[arg-type]


def test_risky_operations() -> None:
    assert risk(ops.DropTableOp("author")) == "drops table author and every row in it"
    assert risk(ops.DropColumnOp("author", "email")) == "drops column author.email and its data"
    narrowed = risk(alter(existing_type=sa.VARCHAR(500), modify_type=sa.VARCHAR(255)))
    assert narrowed is not None and narrowed.startswith("narrows book.title from VARCHAR(500)")
    not_null = risk(alter(existing_type=sa.VARCHAR(500), modify_nullable=False))
    assert not_null is not None and "NOT NULL without a server default" in not_null
    added = risk(ops.AddColumnOp("book", sa.Column("isbn", sa.String(13), nullable=False)))
    assert added is not None and "fails on a table with rows" in added


def test_safe_operations() -> None:
    assert risk(alter(existing_type=sa.VARCHAR(255), modify_type=sa.VARCHAR(500))) is None
    assert risk(alter(modify_nullable=False, existing_server_default="x")) is None
    assert risk(alter(modify_nullable=True)) is None
    column = sa.Column("isbn", sa.String(13), nullable=False, server_default="")
    assert risk(ops.AddColumnOp("book", column)) is None


def test_flag_puts_a_wrapped_comment_before_the_operation() -> None:
    upgrade = ops.UpgradeOps([ops.ModifyTableOps("author", [ops.DropColumnOp("author", "email")])])
    script = ops.MigrationScript("x", upgrade, ops.DowngradeOps([]))
    assert flag(script) == ["drops column author.email and its data"]
    inner = upgrade.ops[0]
    assert isinstance(inner, ops.ModifyTableOps) and isinstance(inner.ops[0], ReviewNote)
    code = render_python_code(upgrade, render_item=render_item)
    assert "# DESTRUCTIVE: drops column author.email and its data\n" in code
    assert code.index("# DESTRUCTIVE") < code.index("op.drop_column('author', 'email')")
