"""Types defined under app/ render as what they store, so revisions never import app code."""

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import render_python_code
from alembic.operations import ops
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

from migration_toolkit.autogen import render_item


class Slug(TypeDecorator[str]):
    impl = sa.String(80)
    cache_ok = True


class Document(TypeDecorator[Any]):
    impl = postgresql.JSONB()
    cache_ok = True


# Make them look like application types, as if defined in app/models/types.py.
Slug.__module__ = Document.__module__ = "app.models.types"


def rendered(type_: Any) -> str:
    upgrade = ops.UpgradeOps([ops.AddColumnOp("t", sa.Column("c", type_))])
    return render_python_code(upgrade, render_item=render_item)


def test_app_type_decorator_renders_as_its_impl() -> None:
    code = rendered(Slug())
    assert "sa.Column('c', sa.String(length=80)" in code
    assert "app." not in code


def test_dialect_impl_renders_with_the_dialect_prefix() -> None:
    assert "postgresql.JSONB(" in rendered(Document())


def test_other_types_render_as_alembic_would() -> None:
    assert "sa.Integer()" in rendered(sa.Integer())
    assert "sa.Column('c', sa.String(length=3)" in rendered(sa.String(3))
