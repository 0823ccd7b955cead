"""Renames instead of drop + add: Alembic sees a renamed column as two changes, and the
data goes with the drop. Each plausible pair is put to the Answers (rename=, or a terminal).
The constraints and indexes named after a renamed table or column are renamed with it
(constraint_names.py). Names in rename= are unqualified: a table in any schema matches.
"""

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.engine import Connection

from migration_toolkit.autogen import constraint_names
from migration_toolkit.autogen.answers import Answers, Rename
from migration_toolkit.autogen.constraint_names import Renamed
from migration_toolkit.autogen.types import base_name, compatible, spelled


def _of_table(
    container: ops.OpContainer, table: str, schema: str | None
) -> Iterable[tuple[ops.ModifyTableOps, ops.MigrateOperation]]:
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps) and op.table_name == table and op.schema == schema:
            for inner in op.ops:
                yield op, inner


def _replace(
    container: ops.OpContainer, target: object, new: Sequence[ops.MigrateOperation]
) -> None:
    index = next(i for i, op in enumerate(container.ops) if op is target)
    container.ops[index : index + 1] = list(new)


def _remove(container: ops.OpContainer, target: object) -> None:
    container.ops[:] = [op for op in container.ops if op is not target]


# Columns -------------------------------------------------------------------------------------


def _rename_column(
    table: str, schema: str | None, old: sa.Column[object], new: sa.Column[object]
) -> ops.AlterColumnOp:
    """old -> new as one ALTER, carrying any type or nullability change along."""
    return ops.AlterColumnOp(
        table,
        old.name,
        schema=schema,
        modify_name=new.name,
        existing_type=old.type,
        existing_nullable=old.nullable,
        modify_type=new.type if spelled(new.type) != spelled(old.type) else None,
        modify_nullable=new.nullable if new.nullable != old.nullable else None,
    )


def _column_renames(
    upgrade: ops.UpgradeOps, downgrade: ops.DowngradeOps, answers: Answers, renamed: Renamed
) -> list[str]:
    done: list[str] = []
    for table_ops in [op for op in upgrade.ops if isinstance(op, ops.ModifyTableOps)]:
        table, schema = table_ops.table_name, table_ops.schema
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
                _replace(table_ops, first, [_rename_column(table, schema, old, new)])
                _remove(table_ops, add if first is drop else drop)
                _undo_in_downgrade(downgrade, table, schema, old, new)
                renamed.columns.setdefault((schema, table), {})[old.name] = new.name
                adds.remove(add)
                done.append(f"renames column {table}.{old.name} to {new.name}")
                break
    return done


def _undo_in_downgrade(
    downgrade: ops.DowngradeOps,
    table: str,
    schema: str | None,
    old: sa.Column[object],
    new: sa.Column[object],
) -> None:
    pair = [
        (table_ops, op)
        for table_ops, op in _of_table(downgrade, table, schema)
        if (isinstance(op, ops.DropColumnOp) and op.column_name == new.name)
        or (isinstance(op, ops.AddColumnOp) and op.column.name == old.name)
    ]
    if not pair:
        return
    (table_ops, first), *rest = pair
    _replace(table_ops, first, [_rename_column(table, schema, new, old)])
    for owner, op in rest:
        _remove(owner, op)


# Tables --------------------------------------------------------------------------------------


def _table_renames(
    upgrade: ops.UpgradeOps, downgrade: ops.DowngradeOps, answers: Answers, renamed: Renamed
) -> list[str]:
    done: list[str] = []
    creates = [op for op in upgrade.ops if isinstance(op, ops.CreateTableOp)]
    drops = [op for op in upgrade.ops if isinstance(op, ops.DropTableOp)]
    for drop in drops:
        old_columns = {c.name for c in drop.to_table().columns}
        for create in creates:
            if create.schema != drop.schema:
                continue
            new_columns = {c.name for c in create.columns if isinstance(c, sa.Column)}
            rename = Rename(drop.table_name, drop.table_name, create.table_name, column=False)
            if rename not in answers.given and old_columns != new_columns:
                continue
            question = f"Did you rename table {drop.table_name} to {create.table_name}?"
            if not answers.decide(rename, question):
                continue
            creates.remove(create)
            done.append(_rename_table(upgrade, downgrade, drop, create))
            renamed.tables[(drop.schema, drop.table_name)] = create.table_name
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
) -> str:
    old, new, schema = drop.table_name, create.table_name, drop.schema
    _replace(upgrade, create, [ops.RenameTableOp(old, new, schema=schema)])
    _remove(upgrade, drop)
    # Undo before anything in the downgrade that refers to the old name again.
    position = next(
        (
            i
            for i, op in enumerate(downgrade.ops)
            if isinstance(op, ops.CreateTableOp | ops.DropTableOp) and op.table_name in (old, new)
        ),
        0,
    )
    downgrade.ops[position:position] = [ops.RenameTableOp(new, old, schema=schema)]
    downgrade.ops[:] = [
        op
        for op in downgrade.ops
        if not (
            (isinstance(op, ops.DropTableOp) and op.table_name == new and op.schema == schema)
            or (isinstance(op, ops.CreateTableOp) and op.table_name == old and op.schema == schema)
        )
    ]
    return f"renames table {old} to {new}"


def apply(
    script: ops.MigrationScript,
    answers: Answers,
    bind: Connection | None,
    metadata: sa.MetaData | None,
) -> list[str]:
    """Turn the drop + add pairs the Answers confirm into renames; returns what was renamed."""
    done: list[str] = []
    for upgrade, downgrade in zip(script.upgrade_ops_list, script.downgrade_ops_list, strict=True):
        renamed = Renamed()
        done += _table_renames(upgrade, downgrade, answers, renamed)
        done += _column_renames(upgrade, downgrade, answers, renamed)
        if renamed and bind is not None and metadata is not None:
            found = constraint_names.changes(bind, metadata, renamed)
            constraint_names.apply(upgrade, downgrade, found)
        constraint_names.prune(upgrade)
        constraint_names.prune(downgrade)
    return done
