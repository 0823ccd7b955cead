"""Postgres schemas besides the default one, handled like tables are.

- Autogenerate compares exactly the schemas the models use (plus the default one): never a
  system schema, nor one another tool keeps in the same database.
- A revision that creates the first tables of a schema creates the schema first
  (`CREATE SCHEMA IF NOT EXISTS`, so a schema made by hand on one database is no obstacle), and
  its downgrade drops it last (`DROP SCHEMA IF EXISTS`, without CASCADE: it fails rather than
  drop something else that lives there).
"""

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

IncludeName = Callable[[str | None, str, Any], bool]

_PREPARER = postgresql.dialect().identifier_preparer  # type: ignore[no-untyped-call]


def used(metadata: Iterable[sa.MetaData]) -> set[str]:
    """The schemas the models name (tables and enum types); the default one is None, left out."""
    found: set[str] = set()
    for each in metadata:
        for table in each.tables.values():
            if table.schema:
                found.add(table.schema)
            for column in table.columns:
                schema = getattr(column.type, "schema", None)
                if isinstance(schema, str) and schema:
                    found.add(schema)
    return found


def include_name(metadata: Iterable[sa.MetaData], inner: IncludeName) -> IncludeName:
    """Alembic's include_name: the models' schemas only; other names as inner decides."""
    chosen: set[str] | None = None

    def include(name: str | None, type_: str, parent_names: Any) -> bool:
        nonlocal chosen
        if type_ == "schema":
            if chosen is None:
                chosen = used(metadata)
            return name is None or name in chosen
        return inner(name, type_, parent_names)

    return include


def quote(name: str) -> str:
    return str(_PREPARER.quote(name))


def _with_tables(bind: Connection, schemas: Iterable[str]) -> set[str]:
    """Those of the schemas that exist in the database and hold a table already."""
    inspector = sa.inspect(bind)
    existing = set(inspector.get_schema_names())
    return {
        schema for schema in schemas if schema in existing and inspector.get_table_names(schema)
    }


def _created(upgrade: ops.UpgradeOps) -> set[str]:
    return {op.schema for op in upgrade.ops if isinstance(op, ops.CreateTableOp) and op.schema}


def create_missing(script: ops.MigrationScript, bind: Connection | None) -> list[str]:
    """Create each schema a revision's new tables go to, when no table of it exists yet."""
    if bind is None:
        return []
    done: list[str] = []
    for upgrade, downgrade in zip(script.upgrade_ops_list, script.downgrade_ops_list, strict=True):
        new = sorted(_created(upgrade) - _with_tables(bind, _created(upgrade)))
        for schema in reversed(new):
            upgrade.ops.insert(0, ops.ExecuteSQLOp(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}"))
        downgrade.ops.extend(
            ops.ExecuteSQLOp(f"DROP SCHEMA IF EXISTS {quote(schema)}") for schema in new
        )
        done += [f"creates schema {schema}" for schema in new]
    return done
