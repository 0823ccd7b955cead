"""Constraint and index names that follow a renamed table or column, renamed in place.

The naming convention derives names from table and column names (pk_author, uq_author_handle,
fk_book_author_id_author, ix_book_author_id). After `author` becomes `writer`, or
`book.author_id` becomes `book.writer_id`, autogenerate sees each such constraint as one to
drop and another to create: a foreign key re-validated under lock, a unique index rebuilt.
Postgres keeps every constraint through a rename; only the names are stale. So each pair
whose definition is the same once the renames are applied becomes
`ALTER TABLE ... RENAME CONSTRAINT` / `ALTER INDEX ... RENAME` (and back in the downgrade), and
a pair with the very same name (a foreign key whose referred column was renamed) disappears.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.engine import Connection, Inspector

from migration_toolkit.autogen.destructive import ReviewNote
from migration_toolkit.autogen.schemas import quote

OPT_OUT = "squawk-ignore: renaming-object -- names that follow a renamed table or column"
TableKey = tuple[str | None, str]  # (schema, name)


@dataclass
class Renamed:
    """The renames a revision makes: tables (old -> new) and columns (per table's new name)."""

    tables: dict[TableKey, str] = field(default_factory=dict)
    columns: dict[TableKey, dict[str, str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.tables or self.columns)

    def table(self, schema: str | None, name: str) -> str:
        return self.tables.get((schema, name), name)

    def column(self, schema: str | None, table: str, name: str) -> str:
        return self.columns.get((schema, table), {}).get(name, name)

    def old_table(self, schema: str | None, new: str) -> str:
        return next((old for (s, old), n in self.tables.items() if s == schema and n == new), new)


@dataclass(frozen=True)
class NameChange:
    schema: str | None
    table: str  # the table's name once renamed
    old: str
    new: str
    index: bool  # ALTER INDEX rather than ALTER TABLE ... RENAME CONSTRAINT

    def sql(self, reverse: bool = False) -> str:
        source, target = (self.new, self.old) if reverse else (self.old, self.new)
        prefix = f"{quote(self.schema)}." if self.schema else ""
        if self.index:
            return f"ALTER INDEX {prefix}{quote(source)} RENAME TO {quote(target)}"
        return (
            f"ALTER TABLE {prefix}{quote(self.table)} "
            f"RENAME CONSTRAINT {quote(source)} TO {quote(target)}"
        )


def _schema(schema: str | None, default: str | None) -> str | None:
    return None if not schema or schema == default else schema


def _action(value: Any) -> str:
    return str(value or "").upper()


def _model_keys(table: sa.Table) -> dict[tuple[Any, ...], tuple[str, bool]]:
    """Each named constraint and index of a model table by what it is: key -> (name, index)."""
    keys: dict[tuple[Any, ...], tuple[str, bool]] = {}
    if table.primary_key.name:
        keys[("pk",)] = (str(table.primary_key.name), False)
    for constraint in table.constraints:
        if not constraint.name:
            continue
        if isinstance(constraint, sa.UniqueConstraint):
            keys[("uq", tuple(c.name for c in constraint.columns))] = (str(constraint.name), False)
        elif isinstance(constraint, sa.ForeignKeyConstraint):
            referred = constraint.referred_table
            key = (
                "fk",
                tuple(c.name for c in constraint.columns),
                referred.schema or None,
                referred.name,
                tuple(element.column.name for element in constraint.elements),
                _action(constraint.ondelete),
                _action(constraint.onupdate),
            )
            keys[key] = (str(constraint.name), False)
        elif isinstance(constraint, sa.CheckConstraint):
            keys[("ck", str(constraint.name))] = (str(constraint.name), False)
    for index in table.indexes:
        if index.name and all(isinstance(e, sa.Column) for e in index.expressions):
            names = tuple(e.name for e in index.expressions if isinstance(e, sa.Column))
            keys[("ix", names, bool(index.unique))] = (str(index.name), True)
    return keys


def _database_keys(
    inspector: Inspector, table: sa.Table, old: str, renamed: Renamed
) -> dict[tuple[Any, ...], str]:
    """The same keys for the table as the database has it, with the renames applied."""
    schema, new = table.schema, table.name
    default = inspector.default_schema_name

    def column(name: str) -> str:
        return renamed.column(schema, new, name)

    keys: dict[tuple[Any, ...], str] = {}
    primary = inspector.get_pk_constraint(old, schema=schema).get("name")
    if primary:
        keys[("pk",)] = primary
    for unique in inspector.get_unique_constraints(old, schema=schema):
        if unique.get("name"):
            keys[("uq", tuple(column(c) for c in unique["column_names"]))] = str(unique["name"])
    for foreign in inspector.get_foreign_keys(old, schema=schema):
        if not foreign.get("name"):
            continue
        referred_schema = _schema(foreign.get("referred_schema"), default)
        referred = renamed.table(referred_schema, foreign["referred_table"])
        options = foreign.get("options") or {}
        key = (
            "fk",
            tuple(column(c) for c in foreign["constrained_columns"]),
            referred_schema,
            referred,
            tuple(
                renamed.column(referred_schema, referred, c) for c in foreign["referred_columns"]
            ),
            _action(options.get("ondelete")),
            _action(options.get("onupdate")),
        )
        keys[key] = str(foreign["name"])
    for index in inspector.get_indexes(old, schema=schema):
        names = index.get("column_names") or []
        if index.get("duplicates_constraint") or not index.get("name") or None in names:
            continue
        keys[("ix", tuple(column(str(c)) for c in names), bool(index["unique"]))] = str(
            index["name"]
        )
    if old != new:
        # CHECK constraints carry no columns in the convention: ck_<table>_<name> follows the table.
        prefix = f"ck_{old}_"
        for check in inspector.get_check_constraints(old, schema=schema):
            name = str(check.get("name") or "")
            if name.startswith(prefix):
                keys[("ck", f"ck_{new}_{name.removeprefix(prefix)}")] = name
    return keys


def _affected(metadata: sa.MetaData, renamed: Renamed) -> Iterator[sa.Table]:
    touched = set(renamed.tables.values()) | {name for _, name in renamed.columns}
    for table in metadata.tables.values():
        refers = any(
            isinstance(c, sa.ForeignKeyConstraint) and c.referred_table.name in touched
            for c in table.constraints
        )
        if table.name in touched or refers:
            yield table


def changes(bind: Connection, metadata: sa.MetaData, renamed: Renamed) -> list[NameChange]:
    """Every constraint and index of the affected tables whose definition survives the renames;
    those whose name stays the same are included (old == new), to drop their re-creation."""
    inspector = sa.inspect(bind)
    found: list[NameChange] = []
    for table in _affected(metadata, renamed):
        old = renamed.old_table(table.schema, table.name)
        if not inspector.has_table(old, schema=table.schema):
            continue
        in_database = _database_keys(inspector, table, old, renamed)
        for key, (name, index) in _model_keys(table).items():
            if key in in_database:
                found.append(NameChange(table.schema, table.name, in_database[key], name, index))
    return found


_DROPS = (ops.DropConstraintOp, ops.DropIndexOp)
_CREATES = (ops.AddConstraintOp, ops.CreateIndexOp)


def _name_of(op: ops.MigrateOperation) -> str | None:
    name = getattr(op, "constraint_name", None) or getattr(op, "index_name", None)
    return str(name) if name is not None else None


def _strip(container: ops.OpContainer, drops: set[str], creates: set[str]) -> None:
    kept: list[ops.MigrateOperation] = []
    for op in container.ops:
        if isinstance(op, ops.OpContainer):
            _strip(op, drops, creates)
        name = _name_of(op)
        if isinstance(op, _DROPS) and name in drops:
            continue
        if isinstance(op, _CREATES) and name in creates:
            continue
        kept.append(op)
    container.ops[:] = kept


def apply(upgrade: ops.UpgradeOps, downgrade: ops.DowngradeOps, found: list[NameChange]) -> None:
    """Renames instead of drop + create, in the upgrade and (reversed) in the downgrade."""
    if not found:
        return
    old = {change.old for change in found}
    new = {change.new for change in found}
    _strip(upgrade, drops=old, creates=new)
    _strip(downgrade, drops=new, creates=old)
    moved = [change for change in found if change.old != change.new]
    if moved:
        # The rename the user asked for is linted (renaming-column/-table); these follow it.
        upgrade.ops.append(ReviewNote(OPT_OUT))
    # After every table and column rename of the upgrade; undone before those of the downgrade.
    upgrade.ops.extend(ops.ExecuteSQLOp(change.sql()) for change in moved)
    downgrade.ops[0:0] = [ops.ExecuteSQLOp(change.sql(reverse=True)) for change in moved]
    prune(upgrade)
    prune(downgrade)


def prune(container: ops.OpContainer) -> None:
    container.ops[:] = [
        op for op in container.ops if not (isinstance(op, ops.ModifyTableOps) and op.is_empty())
    ]
