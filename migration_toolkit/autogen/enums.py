"""Enum value changes whose downgrade must rebuild the indexes that use the enum.

alembic-postgresql-enum finds the indexes that depend on an enum type (a partial index
`WHERE status <> 'closed'`, say) and rebuilds them around a sync of values, but when a value is
only added it drops them from the operation, so the downgrade's `sync_enum_values` fails on
such an index ("cannot drop operator ... because other objects depend on it"). The downgrade
gets them back here.
"""

from alembic.operations import ops
from alembic_postgresql_enum.operations.add_enum_values import AddEnumValuesOp
from alembic_postgresql_enum.operations.sync_enum_values import SyncEnumValuesOp
from alembic_postgresql_enum.sql_commands.indexes import get_dependent_indexes
from sqlalchemy.engine import Connection


def _walk(container: ops.OpContainer) -> list[ops.MigrateOperation]:
    found: list[ops.MigrateOperation] = []
    for op in container.ops:
        found += _walk(op) if isinstance(op, ops.OpContainer) else [op]
    return found


def rebuild_dependent_indexes(script: ops.MigrationScript, bind: Connection | None) -> None:
    if bind is None:
        return
    for upgrade, downgrade in zip(script.upgrade_ops_list, script.downgrade_ops_list, strict=True):
        added = [op for op in _walk(upgrade) if isinstance(op, AddEnumValuesOp)]
        for op in added:
            if op.indexes_to_recreate:
                continue
            indexes = sorted(get_dependent_indexes(bind, op.schema, op.name), key=lambda i: i.name)
            for undo in _walk(downgrade):
                if (
                    isinstance(undo, SyncEnumValuesOp)
                    and (undo.schema, undo.name) == (op.schema, op.name)
                    and not undo.indexes_to_recreate
                ):
                    undo.indexes_to_recreate = indexes
