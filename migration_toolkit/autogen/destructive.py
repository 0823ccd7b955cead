"""Operations that can lose data or fail on a table with rows, flagged for the reviewer:
a comment at the operation in the file, and a warning printed once the file is written.
"""

from alembic.operations import ops

from migration_toolkit.autogen.types import narrows, spelled

MARK = "DESTRUCTIVE"


class ReviewNote(ops.MigrateOperation):
    """A comment line in the generated file; renders as `# DESTRUCTIVE: ...`, runs as nothing."""

    def __init__(self, text: str) -> None:
        self.text = text

    def reverse(self) -> "ReviewNote":
        return self

    def to_diff_tuple(self) -> tuple[()]:
        return ()


def _has_default(value: object) -> bool:
    return value not in (None, False)


def _table(op: ops.MigrateOperation) -> str:
    schema = getattr(op, "schema", None)
    name = str(getattr(op, "table_name", ""))
    return f"{schema}.{name}" if schema else name


def risk(op: ops.MigrateOperation, table: str | None = None) -> str | None:
    """What op may destroy, in words; None when it is safe."""
    if isinstance(op, ops.DropTableOp):
        return f"drops table {_table(op)} and every row in it"
    if isinstance(op, ops.DropColumnOp):
        return f"drops column {_table(op)}.{op.column_name} and its data"
    if isinstance(op, ops.AddColumnOp):
        column = op.column
        if not column.nullable and not _has_default(column.server_default):
            return (
                f"adds NOT NULL column {_table(op)}.{column.name} without a server default: "
                "fails on a table with rows"
            )
    if isinstance(op, ops.AlterColumnOp):
        where = f"{_table(op)}.{op.column_name}"
        if (
            op.modify_type is not None
            and op.existing_type is not None
            and narrows(op.existing_type, op.modify_type)
        ):
            return (
                f"narrows {where} from {spelled(op.existing_type)} to {spelled(op.modify_type)}: "
                "values that do not fit make it fail or are cut"
            )
        default = (
            op.modify_server_default
            if op.modify_server_default is not False
            else op.existing_server_default
        )
        if op.modify_nullable is False and not _has_default(default):
            return (
                f"makes {where} NOT NULL without a server default: fails while any row holds NULL"
            )
    return None


def _flag(container: ops.OpContainer) -> list[str]:
    found: list[str] = []
    flagged: list[ops.MigrateOperation] = []
    for op in container.ops:
        if isinstance(op, ops.ModifyTableOps):
            found += _flag(op)
        elif (text := risk(op)) is not None:
            found.append(text)
            flagged.append(ReviewNote(f"{MARK}: {text}"))
        flagged.append(op)
    container.ops[:] = flagged
    return found


def flag(script: ops.MigrationScript) -> list[str]:
    """Mark each risky operation, in upgrade() and in downgrade() alike: a rollback that drops a
    column or narrows a type loses data (or fails on real rows) just as an upgrade would."""
    found: list[str] = []
    for upgrade in script.upgrade_ops_list:
        found += _flag(upgrade)
    for downgrade in script.downgrade_ops_list:
        found += [f"downgrade() {text}" for text in _flag(downgrade)]
    return found
