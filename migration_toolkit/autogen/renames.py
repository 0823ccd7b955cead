"""Renames instead of drop + add: Alembic sees a renamed column as two changes, and the
data goes with the drop. Each plausible pair is put to the Answers (rename=, or a terminal).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.engine import Connection

from migration_toolkit.autogen.answers import Answers, Rename
from migration_toolkit.autogen.types import base_name, compatible, spelled


def _of_table(
    container: ops.OpContainer, table: str
) -> Iterable[tuple[ops.ModifyTableOps, ops.MigrateOperation]]:
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps) and op.table_name == table:
            for inner in op.ops:
                yield op, inner


def _replace(
    container: ops.OpContainer, target: object, new: Sequence[ops.MigrateOperation]
) -> None:
    index = next(i for i, op in enumerate(container.ops) if op is target)
    container.ops[index : index + 1] = list(new)


def _remove(container: ops.OpContainer, target: object) -> None:
    container.ops[:] = [op for op in container.ops if op is not target]


def _prune(container: ops.OpContainer) -> None:
    container.ops[:] = [
        op for op in container.ops if not (isinstance(op, ops.ModifyTableOps) and op.is_empty())
    ]


# Columns -------------------------------------------------------------------------------------


def _rename_column(table: str, old: sa.Column[object], new: sa.Column[object]) -> ops.AlterColumnOp:
    """old -> new as one ALTER, carrying any type or nullability change along."""
    return ops.AlterColumnOp(
        table,
        old.name,
        modify_name=new.name,
        existing_type=old.type,
        existing_nullable=old.nullable,
        modify_type=new.type if spelled(new.type) != spelled(old.type) else None,
        modify_nullable=new.nullable if new.nullable != old.nullable else None,
    )


def _column_renames(
    upgrade: ops.UpgradeOps, downgrade: ops.DowngradeOps, answers: Answers
) -> list[str]:
    done: list[str] = []
    for table_ops in [op for op in upgrade.ops if isinstance(op, ops.ModifyTableOps)]:
        table = table_ops.table_name
        drops = [op for op in table_ops.ops if isinstance(op, ops.DropColumnOp)]
        adds = [op for op in table_ops.ops if isinstance(op, ops.AddColumnOp)]
        for drop in drops:
            old = drop.to_column()
            for add in adds:
                new = add.column
                rename = Rename(table, old.name, new.name, column=True)
                if rename not in answers.given and not compatible(old.type, new.type):
                    continue
                question = (
                    f"Did you rename {table}.{old.name} to {table}.{new.name} "
                    f"({base_name(new.type)})?"
                )
                if not answers.decide(rename, question):
                    continue
                first = next(op for op in table_ops.ops if op is drop or op is add)
                _replace(table_ops, first, [_rename_column(table, old, new)])
                _remove(table_ops, add if first is drop else drop)
                _undo_in_downgrade(downgrade, table, old, new)
                adds.remove(add)
                done.append(f"renames column {table}.{old.name} to {new.name}")
                break
    return done


def _undo_in_downgrade(
    downgrade: ops.DowngradeOps, table: str, old: sa.Column[object], new: sa.Column[object]
) -> None:
    pair = [
        (table_ops, op)
        for table_ops, op in _of_table(downgrade, table)
        if (isinstance(op, ops.DropColumnOp) and op.column_name == new.name)
        or (isinstance(op, ops.AddColumnOp) and op.column.name == old.name)
    ]
    if not pair:
        return
    (table_ops, first), *rest = pair
    _replace(table_ops, first, [_rename_column(table, new, old)])
    for owner, op in rest:
        _remove(owner, op)


# Tables --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NameChange:
    old: str
    new: str
    index: bool  # a plain index (ALTER INDEX) rather than a constraint (ALTER TABLE)

    def sql(self, table: str, reverse: bool = False) -> str:
        source, target = (self.new, self.old) if reverse else (self.old, self.new)
        if self.index:
            return f"ALTER INDEX {_quote(source)} RENAME TO {_quote(target)}"
        return f"ALTER TABLE {_quote(table)} RENAME CONSTRAINT {_quote(source)} TO {_quote(target)}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _name_changes(bind: Connection, old: str, new: sa.Table) -> list[_NameChange]:
    """Constraint and index names that follow the table's name (pk_author -> pk_writer)."""
    inspector = sa.inspect(bind)
    changes: list[_NameChange] = []

    def add(old_name: str | None, new_name: object, index: bool) -> None:
        if old_name and new_name and old_name != str(new_name):
            changes.append(_NameChange(old_name, str(new_name), index))

    add(inspector.get_pk_constraint(old).get("name"), new.primary_key.name, index=False)
    uniques = {tuple(u["column_names"]): u["name"] for u in inspector.get_unique_constraints(old)}
    foreign = {
        (tuple(f["constrained_columns"]), f["referred_table"]): f["name"]
        for f in inspector.get_foreign_keys(old)
    }
    indexes = {
        (tuple(str(c) for c in i["column_names"]), bool(i["unique"])): i["name"]
        for i in inspector.get_indexes(old)
        if not i.get("duplicates_constraint")
    }
    for constraint in new.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            add(uniques.get(tuple(c.name for c in constraint.columns)), constraint.name, False)
        elif isinstance(constraint, sa.ForeignKeyConstraint):
            referred = constraint.referred_table.name
            columns = tuple(c.name for c in constraint.columns)
            add(
                foreign.get((columns, old if referred == new.name else referred)),
                constraint.name,
                False,
            )
    for index in new.indexes:
        shape = (tuple(c.name for c in index.columns), bool(index.unique))
        add(indexes.get(shape), index.name, index=True)
    return changes


def _drop_index_ops(
    container: ops.OpContainer, table: str, names: set[str], kind: type[ops.MigrateOperation]
) -> None:
    for table_ops, op in list(_of_table(container, table)):
        if isinstance(op, kind) and str(getattr(op, "index_name", "")) in names:
            _remove(table_ops, op)


def _table_renames(
    upgrade: ops.UpgradeOps,
    downgrade: ops.DowngradeOps,
    answers: Answers,
    bind: Connection | None,
    metadata: sa.MetaData | None,
) -> list[str]:
    done: list[str] = []
    creates = [op for op in upgrade.ops if isinstance(op, ops.CreateTableOp)]
    drops = [op for op in upgrade.ops if isinstance(op, ops.DropTableOp)]
    for drop in drops:
        old_columns = {c.name for c in drop.to_table().columns}
        for create in creates:
            new_columns = {c.name for c in create.columns if isinstance(c, sa.Column)}
            rename = Rename(drop.table_name, drop.table_name, create.table_name, column=False)
            if rename not in answers.given and old_columns != new_columns:
                continue
            question = f"Did you rename table {drop.table_name} to {create.table_name}?"
            if not answers.decide(rename, question):
                continue
            creates.remove(create)
            done.extend(_rename_table(upgrade, downgrade, drop, create, bind, metadata))
            if old_columns != new_columns:
                done.append(
                    f"table {create.table_name}: its column changes are left for the next "
                    "`make migration` (rename first, change columns after)"
                )
            break
    return done


def _rename_table(
    upgrade: ops.UpgradeOps,
    downgrade: ops.DowngradeOps,
    drop: ops.DropTableOp,
    create: ops.CreateTableOp,
    bind: Connection | None,
    metadata: sa.MetaData | None,
) -> list[str]:
    old, new = drop.table_name, create.table_name
    table = metadata.tables.get(new) if metadata is not None else None
    names = _name_changes(bind, old, table) if bind is not None and table is not None else []
    forward: list[ops.MigrateOperation] = [ops.RenameTableOp(old, new)]
    forward += [ops.ExecuteSQLOp(change.sql(new)) for change in names]
    backward: list[ops.MigrateOperation] = [
        ops.ExecuteSQLOp(change.sql(new, reverse=True)) for change in reversed(names)
    ]
    backward.append(ops.RenameTableOp(new, old))

    _replace(upgrade, create, forward)
    _remove(upgrade, drop)
    renamed_indexes = {change.new for change in names if change.index}
    _drop_index_ops(upgrade, new, renamed_indexes, ops.CreateIndexOp)
    _drop_index_ops(upgrade, old, {c.old for c in names if c.index}, ops.DropIndexOp)

    # Undo before anything in the downgrade that refers to the old name again (its FKs).
    def refers_to_old(op: ops.MigrateOperation) -> bool:
        if isinstance(op, ops.CreateTableOp | ops.DropTableOp):
            return op.table_name in (old, new)
        if isinstance(op, ops.ModifyTableOps):
            return any(
                isinstance(inner, ops.CreateForeignKeyOp) and inner.referent_table == old
                for inner in op.ops
            )
        return False

    position = next((i for i, op in enumerate(downgrade.ops) if refers_to_old(op)), 0)
    downgrade.ops[position:position] = backward
    downgrade.ops[:] = [
        op
        for op in downgrade.ops
        if not (
            (isinstance(op, ops.DropTableOp) and op.table_name == new)
            or (isinstance(op, ops.CreateTableOp) and op.table_name == old)
        )
    ]
    _drop_index_ops(downgrade, new, renamed_indexes, ops.DropIndexOp)
    _drop_index_ops(downgrade, old, {c.old for c in names if c.index}, ops.CreateIndexOp)
    return [f"renames table {old} to {new}"]


def apply(
    script: ops.MigrationScript,
    answers: Answers,
    bind: Connection | None,
    metadata: sa.MetaData | None,
) -> list[str]:
    """Turn the drop + add pairs the Answers confirm into renames; returns what was renamed."""
    done: list[str] = []
    for upgrade, downgrade in zip(script.upgrade_ops_list, script.downgrade_ops_list, strict=True):
        done += _table_renames(upgrade, downgrade, answers, bind, metadata)
        done += _column_renames(upgrade, downgrade, answers)
        _prune(upgrade)
        _prune(downgrade)
    return done
