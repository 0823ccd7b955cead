"""ALTER TABLE, one subcommand at a time: its lock and the work it does on the table.

The statement takes the strongest lock any of its subcommands needs (the manual's ALTER TABLE
page: "the lock acquired will be the strictest one required by any subcommand").
"""

from typing import TYPE_CHECKING, Any

from pglast import ast
from pglast.enums import AlterTableType as At
from pglast.enums import ConstrType, ObjectType

from migration_toolkit.plan import types
from migration_toolkit.plan.catalog import Column, Constraint, Table, not_null_check
from migration_toolkit.plan.locks import (
    ACCESS_EXCLUSIVE,
    ROW_SHARE,
    SHARE_ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    LockMode,
)
from migration_toolkit.plan.model import Analysis, Work, WorkKind

if TYPE_CHECKING:
    from migration_toolkit.plan.base import Base as Classifier

# Catalog-only subcommands and the lock each takes.
_CATALOG: dict[At, LockMode] = {
    At.AT_ColumnDefault: ACCESS_EXCLUSIVE,
    At.AT_CookedColumnDefault: ACCESS_EXCLUSIVE,
    At.AT_DropNotNull: ACCESS_EXCLUSIVE,
    At.AT_DropExpression: ACCESS_EXCLUSIVE,
    At.AT_SetStatistics: SHARE_UPDATE_EXCLUSIVE,
    At.AT_SetOptions: SHARE_UPDATE_EXCLUSIVE,
    At.AT_ResetOptions: SHARE_UPDATE_EXCLUSIVE,
    At.AT_SetStorage: ACCESS_EXCLUSIVE,
    At.AT_SetCompression: ACCESS_EXCLUSIVE,
    At.AT_DropColumn: ACCESS_EXCLUSIVE,
    At.AT_AddIndexConstraint: ACCESS_EXCLUSIVE,
    At.AT_AlterConstraint: ACCESS_EXCLUSIVE,
    At.AT_ChangeOwner: ACCESS_EXCLUSIVE,
    At.AT_ClusterOn: SHARE_UPDATE_EXCLUSIVE,
    At.AT_DropCluster: SHARE_UPDATE_EXCLUSIVE,
    At.AT_SetRelOptions: SHARE_UPDATE_EXCLUSIVE,
    At.AT_ResetRelOptions: SHARE_UPDATE_EXCLUSIVE,
    At.AT_EnableTrig: SHARE_ROW_EXCLUSIVE,
    At.AT_EnableAlwaysTrig: SHARE_ROW_EXCLUSIVE,
    At.AT_EnableReplicaTrig: SHARE_ROW_EXCLUSIVE,
    At.AT_DisableTrig: SHARE_ROW_EXCLUSIVE,
    At.AT_EnableTrigAll: SHARE_ROW_EXCLUSIVE,
    At.AT_DisableTrigAll: SHARE_ROW_EXCLUSIVE,
    At.AT_EnableTrigUser: SHARE_ROW_EXCLUSIVE,
    At.AT_DisableTrigUser: SHARE_ROW_EXCLUSIVE,
    At.AT_EnableRule: ACCESS_EXCLUSIVE,
    At.AT_EnableAlwaysRule: ACCESS_EXCLUSIVE,
    At.AT_EnableReplicaRule: ACCESS_EXCLUSIVE,
    At.AT_DisableRule: ACCESS_EXCLUSIVE,
    At.AT_ReplicaIdentity: ACCESS_EXCLUSIVE,
    At.AT_EnableRowSecurity: ACCESS_EXCLUSIVE,
    At.AT_DisableRowSecurity: ACCESS_EXCLUSIVE,
    At.AT_ForceRowSecurity: ACCESS_EXCLUSIVE,
    At.AT_NoForceRowSecurity: ACCESS_EXCLUSIVE,
    At.AT_AddIdentity: ACCESS_EXCLUSIVE,
    At.AT_SetIdentity: ACCESS_EXCLUSIVE,
    At.AT_DropIdentity: ACCESS_EXCLUSIVE,
    At.AT_AddInherit: ACCESS_EXCLUSIVE,
    At.AT_DropInherit: ACCESS_EXCLUSIVE,
}
# Subcommands that write the whole table again under ACCESS EXCLUSIVE.
_REWRITE = {At.AT_SetLogged, At.AT_SetUnLogged, At.AT_SetAccessMethod, At.AT_SetTableSpace}
_REWRITE |= {At.AT_SetExpression}
_LABELS = {
    At.AT_AddColumn: "ADD COLUMN",
    At.AT_AlterColumnType: "ALTER COLUMN TYPE",
    At.AT_SetNotNull: "SET NOT NULL",
    At.AT_DropNotNull: "DROP NOT NULL",
    At.AT_ColumnDefault: "SET/DROP DEFAULT",
    At.AT_DropColumn: "DROP COLUMN",
    At.AT_AddConstraint: "ADD CONSTRAINT",
    At.AT_ValidateConstraint: "VALIDATE CONSTRAINT",
    At.AT_DropConstraint: "DROP CONSTRAINT",
}


def add_columns(classifier: "Classifier", table: Table, elements: Any) -> None:
    """Record the columns of a CREATE TABLE (or ADD COLUMN) in the catalog snapshot."""
    for element in elements:
        if isinstance(element, ast.ColumnDef) and element.colname and element.typeName:
            new = types.resolve(element.typeName, classifier.catalog)
            table.columns[element.colname] = Column(new.oid or 0, new.typmod, False)


def strings(nodes: Any) -> list[str]:
    return [node.sval for node in nodes or () if isinstance(node, ast.String) and node.sval]


def classify(classifier: "Classifier", node: Any, analysis: Analysis) -> None:
    if node.objtype not in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_FOREIGN_TABLE):
        what = node.objtype.name.removeprefix("OBJECT_").replace("_", " ")
        analysis.kind = f"ALTER {what}"
        if node.objtype in (ObjectType.OBJECT_SEQUENCE, ObjectType.OBJECT_TYPE):
            analysis.works.append(Work(WorkKind.NONE))
            return
        if all(cmd.subtype in (At.AT_SetRelOptions, At.AT_ResetRelOptions) for cmd in node.cmds):
            analysis.works.append(Work(WorkKind.CATALOG))
            return
        analysis.unknown = f"ALTER {what} with these subcommands is not one the plan knows"
        return
    table = classifier.table(node.relation)
    labels = [_LABELS.get(cmd.subtype, cmd.subtype.name.removeprefix("AT_")) for cmd in node.cmds]
    analysis.kind = "ALTER TABLE " + ", ".join(dict.fromkeys(labels))
    if table is None:
        # A table this plan does not know (a view, a table made by raw SQL it could not read).
        classifier.lock(analysis, node.relation, ACCESS_EXCLUSIVE)
        analysis.works.append(Work(WorkKind.CATALOG, classifier.name(node.relation)))
        return
    for cmd in node.cmds:
        _command(classifier, table, cmd, analysis)


def _command(classifier: "Classifier", table: Table, cmd: Any, analysis: Analysis) -> None:
    subtype = cmd.subtype
    if subtype in _CATALOG:
        classifier.lock(analysis, table, _CATALOG[subtype])
        classifier.work(analysis, WorkKind.CATALOG, table)
        if subtype == At.AT_DropColumn and cmd.name:
            table.columns.pop(cmd.name, None)
        if subtype == At.AT_DropNotNull and cmd.name in table.columns:
            table.columns[cmd.name].not_null = False
        return
    if subtype in _REWRITE:
        classifier.lock(analysis, table, ACCESS_EXCLUSIVE)
        classifier.rewrite(analysis, table)
        return
    handler = {
        At.AT_AddColumn: _add_column,
        At.AT_AlterColumnType: _alter_type,
        At.AT_SetNotNull: _set_not_null,
        At.AT_AddConstraint: _add_constraint,
        At.AT_ValidateConstraint: _validate,
        At.AT_DropConstraint: _drop_constraint,
    }.get(subtype)
    if handler is None:
        classifier.lock(analysis, table, ACCESS_EXCLUSIVE)
        analysis.unknown = (
            f"ALTER TABLE ... {subtype.name.removeprefix('AT_')} is not one the plan knows"
        )
        return
    handler(classifier, table, cmd, analysis)


def _add_column(classifier: "Classifier", table: Table, cmd: Any, analysis: Analysis) -> None:
    column: Any = cmd.def_
    classifier.lock(analysis, table, ACCESS_EXCLUSIVE)
    if cmd.missing_ok and column.colname in table.columns:
        classifier.work(analysis, WorkKind.CATALOG, table)
        return
    new = types.resolve(column.typeName, classifier.catalog)
    constraints = list(column.constraints or ())
    default = next((c for c in constraints if c.contype == ConstrType.CONSTR_DEFAULT), None)
    not_null = any(c.contype == ConstrType.CONSTR_NOTNULL for c in constraints)
    rewrite = ""
    if new.serial:
        rewrite = "a serial column: nextval() for every row"
    elif column.identity.strip("\x00") or any(
        c.contype == ConstrType.CONSTR_IDENTITY for c in constraints
    ):
        rewrite = "an identity column: a value for every row"
    elif any(c.contype == ConstrType.CONSTR_GENERATED for c in constraints):
        rewrite = "a stored generated column: computed for every row"
    elif default is not None and types.volatility(default.raw_expr, classifier.catalog) == "v":
        rewrite = "a volatile default: computed for every row"
    if rewrite:
        classifier.rewrite(analysis, table)
        analysis.notes.append(rewrite)
        if table.has_rows:
            analysis.advice = (
                f'online.add_column_with_default("{table.display}", "{column.colname}", '
                '<type>, "<default SQL>")'
            )
    else:
        classifier.work(analysis, WorkKind.CATALOG, table)
        if not_null and default is None and table.has_rows:
            analysis.problem = (
                f"NOT NULL without a default: fails on {table.display}, which has rows"
            )
            analysis.advice = (
                "add it nullable, fill it (online.backfill), then "
                f'online.set_not_null("{table.display}", "{column.colname}")'
            )
    for constraint in constraints:
        _column_constraint(classifier, table, column.colname, constraint, analysis)
    table.columns[column.colname] = Column(new.oid or 0, new.typmod, not_null)


def _column_constraint(
    classifier: "Classifier",
    table: Table,
    column: str,
    constraint: Any,
    analysis: Analysis,
) -> None:
    kind = constraint.contype
    if kind == ConstrType.CONSTR_FOREIGN:
        classifier.lock(analysis, table, SHARE_ROW_EXCLUSIVE)
        classifier.lock(analysis, constraint.pktable, SHARE_ROW_EXCLUSIVE)
        classifier.work(analysis, WorkKind.SCAN, table, detail="foreign key check")
    elif kind == ConstrType.CONSTR_CHECK:
        classifier.work(analysis, WorkKind.SCAN, table, detail="check constraint")
    elif kind in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE):
        keys = (
            (classifier.catalog.is_string(table.columns[column].type_oid),)
            if column in table.columns
            else (False,)
        )
        classifier.work(analysis, WorkKind.INDEX, table, text_keys=keys)


def _alter_type(classifier: "Classifier", table: Table, cmd: Any, analysis: Analysis) -> None:
    classifier.lock(analysis, table, ACCESS_EXCLUSIVE)
    column_def: ast.ColumnDef = cmd.def_
    new = types.resolve(column_def.typeName, classifier.catalog)
    old = table.columns.get(cmd.name)
    trivial = types.trivial_using(column_def.raw_default, cmd.name, column_def.typeName)
    if old is None:
        classifier.rewrite(analysis, table)
        analysis.notes.append(f"column {cmd.name} is not in the catalog: assumed a rewrite")
    elif not trivial or types.rewrites(old, new, classifier.catalog):
        classifier.rewrite(analysis, table)
        if table.has_rows:
            analysis.advice = (
                "expand and contract: add a column of the new type, fill it (online.backfill), "
                "move the code over, then drop the old column"
            )
        narrowing = types.narrows(old, new, classifier.catalog)
        if narrowing and table.has_rows:
            analysis.notes.append(f"{narrowing}: rows whose values do not fit make it fail")
    else:
        classifier.work(analysis, WorkKind.CATALOG, table)
    _rebuilt_foreign_keys(classifier, table, cmd.name, analysis)
    table.columns[cmd.name] = Column(new.oid or 0, new.typmod, old.not_null if old else False)


def _rebuilt_foreign_keys(
    classifier: "Classifier", table: Table, column: str, analysis: Analysis
) -> None:
    """A foreign key on the column, either side, is dropped and added again: both tables are
    locked ACCESS EXCLUSIVE and the referencing rows checked again."""
    for constraint in table.constraints.values():
        if constraint.kind == "f" and column in constraint.columns and constraint.referenced:
            other = classifier.catalog.named(constraint.referenced)
            if other is not None:
                classifier.lock(analysis, other, ACCESS_EXCLUSIVE)
            classifier.work(analysis, WorkKind.SCAN, table, detail="foreign key checked again")
    for other in list(classifier.catalog.tables.values()):
        for constraint in other.constraints.values():
            on_column = (
                constraint.referenced == table.display and column in constraint.referenced_columns
            )
            if constraint.kind == "f" and on_column and other is not table:
                classifier.lock(analysis, other, ACCESS_EXCLUSIVE)
                classifier.work(analysis, WorkKind.SCAN, other, detail="foreign key checked again")


def _set_not_null(classifier: "Classifier", table: Table, cmd: Any, analysis: Analysis) -> None:
    classifier.lock(analysis, table, ACCESS_EXCLUSIVE)
    column = cmd.name
    already = column in table.columns and table.columns[column].not_null
    if already or column in table.proven_not_null or not table.has_rows:
        classifier.work(analysis, WorkKind.CATALOG, table)
        if column in table.proven_not_null:
            analysis.notes.append(f"a valid CHECK ({column} IS NOT NULL) spares the scan")
    else:
        classifier.work(analysis, WorkKind.SCAN, table, detail="NOT NULL check")
        analysis.advice = f'online.set_not_null("{table.display}", "{column}")'
    if column in table.columns:
        table.columns[column].not_null = True


def _add_constraint(classifier: "Classifier", table: Table, cmd: Any, analysis: Analysis) -> None:
    constraint: Any = cmd.def_
    kind = constraint.contype
    not_valid = bool(constraint.skip_validation)
    name = constraint.conname or "?"
    if kind == ConstrType.CONSTR_FOREIGN:
        classifier.lock(analysis, table, SHARE_ROW_EXCLUSIVE)
        classifier.lock(analysis, constraint.pktable, SHARE_ROW_EXCLUSIVE)
        referenced = classifier.name(constraint.pktable)
        columns = tuple(strings(constraint.fk_attrs))
        remote = tuple(strings(constraint.pk_attrs))
        table.constraints[name] = Constraint("f", "", not not_valid, referenced, columns, remote)
        if not_valid:
            classifier.work(analysis, WorkKind.CATALOG, table)
            return
        classifier.work(analysis, WorkKind.SCAN, table, detail="foreign key check")
        if table.has_rows:
            analysis.advice = (
                f'online.add_foreign_key_not_valid("{name}", "{table.display}", "{referenced}", '
                f'...), then online.validate_constraint("{table.display}", "{name}") '
                "in a later revision"
            )
        return
    classifier.lock(analysis, table, ACCESS_EXCLUSIVE)
    if kind == ConstrType.CONSTR_CHECK:
        definition = _check_definition(constraint)
        table.constraints[name] = Constraint("c", definition, not not_valid)
        if not_valid:
            classifier.work(analysis, WorkKind.CATALOG, table)
            return
        _prove_not_null(table, definition)
        classifier.work(analysis, WorkKind.SCAN, table, detail="check constraint")
        if table.has_rows:
            analysis.advice = (
                f'op.create_check_constraint("{name}", "{table.display}", ..., '
                "postgresql_not_valid=True), then "
                f'online.validate_constraint("{table.display}", "{name}")'
            )
    elif kind in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_EXCLUSION):
        if constraint.indexname:
            classifier.work(analysis, WorkKind.CATALOG, table)  # USING INDEX: already built
            return
        key_columns = strings(constraint.keys)
        keys = tuple(
            column in table.columns and classifier.catalog.is_string(table.columns[column].type_oid)
            for column in key_columns
        )
        classifier.work(analysis, WorkKind.INDEX, table, text_keys=keys or (False,))
        classifier.catalog.add_index(table, name, keys)
        if table.has_rows:
            analysis.advice = (
                f'online.create_index_concurrently("{name}", "{table.display}", [...], '
                "unique=True), "
                f"then ADD CONSTRAINT {name} ... USING INDEX {name}"
            )
    elif kind == ConstrType.CONSTR_NOTNULL:
        classifier.work(analysis, WorkKind.SCAN, table, detail="NOT NULL check")
    else:
        analysis.unknown = f"ADD CONSTRAINT of kind {kind.name} is not one the plan knows"


def _check_definition(constraint: Any) -> str:
    """CHECK (col IS NOT NULL) as pg_get_constraintdef prints it; '' for other checks."""
    expression = constraint.raw_expr
    if (
        isinstance(expression, ast.NullTest)
        and isinstance(expression.arg, ast.ColumnRef)
        and getattr(expression.nulltesttype, "name", "") == "IS_NOT_NULL"
    ):
        fields = strings(expression.arg.fields)
        if len(fields) == 1:
            return not_null_check(fields[0])
    return ""


def _prove_not_null(table: Table, definition: str) -> None:
    for column in table.columns:
        if definition and definition == not_null_check(column):
            table.proven_not_null.add(column)


def _validate(classifier: "Classifier", table: Table, cmd: Any, analysis: Analysis) -> None:
    classifier.lock(analysis, table, SHARE_UPDATE_EXCLUSIVE)
    constraint = table.constraints.get(cmd.name or "")
    if constraint is not None and constraint.kind == "f" and constraint.referenced:
        other = classifier.catalog.named(constraint.referenced)
        if other is not None:
            classifier.lock(analysis, other, ROW_SHARE)
    classifier.work(analysis, WorkKind.SCAN, table, detail="validation")
    if constraint is not None:
        constraint.validated = True
        _prove_not_null(table, constraint.definition)


def _drop_constraint(classifier: "Classifier", table: Table, cmd: Any, analysis: Analysis) -> None:
    classifier.lock(analysis, table, ACCESS_EXCLUSIVE)
    constraint = table.constraints.pop(cmd.name or "", None)
    if constraint is not None and constraint.kind == "f" and constraint.referenced:
        other = classifier.catalog.named(constraint.referenced)
        if other is not None and other is not table:
            classifier.lock(analysis, other, ACCESS_EXCLUSIVE)
    if constraint is not None and constraint.definition:
        table.proven_not_null -= {
            c for c in table.columns if not_null_check(c) == constraint.definition
        }
    classifier.work(analysis, WorkKind.CATALOG, table)
