"""Each statement, as Postgres's own parser reads it: the locks it takes, the work it does.

Lock modes per command are the PostgreSQL manual's ("Explicit Locking", 13.3.1, and each
command's page); ALTER TABLE's subcommands are in alter.py. The catalog snapshot is updated as
statements create, rename and drop things, so a later statement sees the tables of an earlier
one. A statement this module does not know is UNKNOWN, never fine.
"""

import re
from typing import Any

from pglast import ast
from pglast.enums import ObjectType
from pglast.visitors import referenced_relations

from migration_toolkit.plan import alter
from migration_toolkit.plan.indexes import IndexStatements
from migration_toolkit.plan.locks import (
    ACCESS_EXCLUSIVE,
    ACCESS_SHARE,
    SHARE_ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    LockMode,
)
from migration_toolkit.plan.model import Analysis, Work, WorkKind
from migration_toolkit.plan.rows import RowStatements
from migration_toolkit.plan.source import Statement

_COMMENTS = re.compile(r"/\*.*?\*/|--[^\n]*", re.S)
SUMMARY_WIDTH = 60
# Statements that touch no table: types, functions, schemas, roles, session settings.
_NO_TABLE = (
    ast.VariableSetStmt,
    ast.CreateFunctionStmt,
    ast.CreateEnumStmt,
    ast.AlterEnumStmt,
    ast.CompositeTypeStmt,
    ast.CreateDomainStmt,
    ast.DefineStmt,
    ast.CreateSeqStmt,
    ast.AlterSeqStmt,
    ast.CreateSchemaStmt,
    ast.CreateExtensionStmt,
    ast.GrantStmt,
    ast.GrantRoleStmt,
    ast.CreateRoleStmt,
    ast.AlterRoleStmt,
    ast.AlterDefaultPrivilegesStmt,
    ast.CreatePublicationStmt,
    ast.AlterFunctionStmt,
    ast.CreateCastStmt,
)


def strings(nodes: Any) -> list[str]:
    """The names of a list of String nodes (a qualified name, a column list)."""
    return [node.sval for node in nodes or () if isinstance(node, ast.String) and node.sval]


def summary(sql: str) -> str:
    flat = " ".join(_COMMENTS.sub(" ", sql).split())
    return flat if len(flat) <= SUMMARY_WIDTH else flat[: SUMMARY_WIDTH - 3] + "..."


def _kind(node: Any) -> str:
    """CreateIndexStmt -> CREATE INDEX style label from the node's class."""
    name = type(node).__name__.removesuffix("Stmt")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).upper()


class Classifier(IndexStatements, RowStatements):
    """Each handler `on_<pglast node class>` fills in the Analysis of one statement."""

    # -- the entry point ---------------------------------------------------------------

    def analyse(self, statement: Statement) -> Analysis:
        analysis = Analysis(
            revision=statement.revision,
            sql=statement.sql,
            summary=summary(statement.sql),
            kind="?",
            in_transaction=statement.in_transaction,
            group=statement.group,
        )
        node = statement.node
        if node is None:
            analysis.unknown = f"Postgres's parser refuses it: {statement.error}"
            return analysis
        analysis.kind = _kind(node)
        handler = getattr(self, f"on_{type(node).__name__}", None)
        if handler is not None:
            handler(node, analysis)
        elif isinstance(node, _NO_TABLE):
            analysis.works.append(Work(WorkKind.NONE))
        else:
            analysis.unknown = f"{analysis.kind} is not a statement the plan knows"
        return analysis

    # -- tables --------------------------------------------------------------------------

    def on_CreateStmt(self, node: Any, analysis: Analysis) -> None:
        analysis.kind = "CREATE TABLE"
        for parent in node.inhRelations or ():
            self.lock(analysis, parent, ACCESS_EXCLUSIVE)
        for element in node.tableElts or ():
            constraints = element.constraints if isinstance(element, ast.ColumnDef) else [element]
            for constraint in constraints or ():
                if isinstance(constraint, ast.Constraint) and constraint.pktable is not None:
                    self.lock(analysis, constraint.pktable, SHARE_ROW_EXCLUSIVE)
        if node.if_not_exists and self.table(node.relation) is not None:
            analysis.works.append(Work(WorkKind.CATALOG, self.name(node.relation), detail="exists"))
            return
        table = self.catalog.create(node.relation.schemaname, node.relation.relname)
        alter.add_columns(self, table, node.tableElts or ())
        analysis.works.append(Work(WorkKind.CATALOG, table.display, detail="new table"))

    def on_CreateTableAsStmt(self, node: Any, analysis: Analysis) -> None:
        analysis.kind = "CREATE TABLE AS"
        for name in sorted(referenced_relations(node.query)):
            schema, _, relname = name.rpartition(".")
            source = self.catalog.find(schema or None, relname)
            if source is not None:
                self.lock(analysis, source, ACCESS_SHARE)
                self.work(analysis, WorkKind.SCAN, source)
        into = node.into.rel
        kind = "m" if node.objtype == ObjectType.OBJECT_MATVIEW else "r"
        self.catalog.create(into.schemaname, into.relname, kind)
        analysis.notes.append("the new table's rows are not known before it runs")

    def on_ViewStmt(self, node: Any, analysis: Analysis) -> None:
        analysis.kind = "CREATE VIEW"
        existing = self.table(node.view)
        if existing is not None:
            self.lock(analysis, existing, ACCESS_EXCLUSIVE)
        else:
            self.catalog.create(node.view.schemaname, node.view.relname, "v")
        analysis.works.append(Work(WorkKind.CATALOG, self.name(node.view)))

    def on_DropStmt(self, node: Any, analysis: Analysis) -> None:
        kind = node.removeType
        analysis.kind = f"DROP {kind.name.removeprefix('OBJECT_').replace('_', ' ')}"
        if node.behavior.name == "DROP_CASCADE":
            analysis.unknown = "CASCADE: what else it drops (and locks) is not in the SQL"
            return
        for names in node.objects or ():
            parts = strings(names)
            if kind in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW):
                self.drop_table(parts, analysis)
            elif kind == ObjectType.OBJECT_INDEX:
                self.drop_index(parts, node.concurrent, analysis)
            elif kind in (
                ObjectType.OBJECT_TRIGGER,
                ObjectType.OBJECT_RULE,
                ObjectType.OBJECT_POLICY,
            ):
                owner = self.catalog.find(parts[-3] if len(parts) > 2 else None, parts[-2])
                if owner is not None:
                    self.lock(analysis, owner, ACCESS_EXCLUSIVE)
                analysis.works.append(Work(WorkKind.CATALOG))
            else:
                analysis.works.append(Work(WorkKind.NONE))

    def drop_table(self, parts: list[str], analysis: Analysis) -> None:
        table = self.catalog.find(parts[-2] if len(parts) > 1 else None, parts[-1])
        if table is None:
            analysis.works.append(Work(WorkKind.CATALOG, parts[-1], detail="absent"))
            return
        self.lock(analysis, table, ACCESS_EXCLUSIVE)
        # Its foreign keys' triggers live on the tables it references too.
        for constraint in table.constraints.values():
            if constraint.kind == "f" and constraint.referenced:
                other = self.catalog.named(constraint.referenced)
                if other is not None and other is not table:
                    self.lock(analysis, other, ACCESS_EXCLUSIVE)
        analysis.works.append(Work(WorkKind.CATALOG, table.display))
        self.catalog.drop(table)

    def drop_index(self, parts: list[str], concurrent: bool, analysis: Analysis) -> None:
        schema = parts[-2] if len(parts) > 1 else None
        table = self.catalog.table_of_index(schema, parts[-1])
        analysis.kind = "DROP INDEX CONCURRENTLY" if concurrent else "DROP INDEX"
        if table is None:
            analysis.works.append(Work(WorkKind.CATALOG, None, detail="absent"))
            return
        self.lock(analysis, table, SHARE_UPDATE_EXCLUSIVE if concurrent else ACCESS_EXCLUSIVE)
        analysis.works.append(Work(WorkKind.CATALOG, table.display))
        table.indexes.pop(parts[-1], None)
        if not concurrent:
            analysis.advice = f'online.drop_index_concurrently("{parts[-1]}", "{table.display}")'

    def on_TruncateStmt(self, node: Any, analysis: Analysis) -> None:
        for relation in node.relations:
            self.lock(analysis, relation, ACCESS_EXCLUSIVE)
            analysis.works.append(Work(WorkKind.CATALOG, self.name(relation)))

    def on_LockStmt(self, node: Any, analysis: Analysis) -> None:
        for relation in node.relations:
            self.lock(analysis, relation, LockMode(node.mode))
            analysis.works.append(Work(WorkKind.CATALOG, self.name(relation)))

    def on_RenameStmt(self, node: Any, analysis: Analysis) -> None:
        kind = node.renameType
        analysis.kind = f"RENAME {kind.name.removeprefix('OBJECT_')}"
        if node.relation is None:
            analysis.works.append(Work(WorkKind.NONE))  # a type, a function, a schema
            return
        if kind == ObjectType.OBJECT_INDEX:
            table = self.catalog.table_of_index(node.relation.schemaname, node.relation.relname)
            if table is not None:
                self.lock(analysis, table, SHARE_UPDATE_EXCLUSIVE)
                keys = table.indexes.pop(node.relation.relname, ())
                self.catalog.add_index(table, node.newname, keys)
            analysis.works.append(Work(WorkKind.CATALOG))
            return
        table = self.table(node.relation)
        self.lock(analysis, table or node.relation, ACCESS_EXCLUSIVE)
        analysis.works.append(Work(WorkKind.CATALOG, self.name(node.relation)))
        if table is None:
            return
        if kind in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW):
            self.catalog.rename(table, node.newname)
        elif kind == ObjectType.OBJECT_COLUMN and node.subname in table.columns:
            table.columns[node.newname] = table.columns.pop(node.subname)

    def on_AlterObjectSchemaStmt(self, node: Any, analysis: Analysis) -> None:
        if node.relation is None:
            analysis.works.append(Work(WorkKind.NONE))
            return
        self.lock(analysis, node.relation, ACCESS_EXCLUSIVE)
        analysis.works.append(Work(WorkKind.CATALOG, self.name(node.relation)))

    def on_AlterTableStmt(self, node: Any, analysis: Analysis) -> None:
        alter.classify(self, node, analysis)

    # -- the rest ------------------------------------------------------------------------

    def on_CreateTrigStmt(self, node: Any, analysis: Analysis) -> None:
        self.lock(analysis, node.relation, SHARE_ROW_EXCLUSIVE)
        analysis.works.append(Work(WorkKind.CATALOG, self.name(node.relation)))

    def on_CreatePolicyStmt(self, node: Any, analysis: Analysis) -> None:
        self.lock(analysis, node.table, ACCESS_EXCLUSIVE)
        analysis.works.append(Work(WorkKind.CATALOG, self.name(node.table)))

    def on_AlterPolicyStmt(self, node: Any, analysis: Analysis) -> None:
        self.on_CreatePolicyStmt(node, analysis)

    def on_RuleStmt(self, node: Any, analysis: Analysis) -> None:
        self.lock(analysis, node.relation, ACCESS_EXCLUSIVE)
        analysis.works.append(Work(WorkKind.CATALOG, self.name(node.relation)))

    def on_CreateStatsStmt(self, node: Any, analysis: Analysis) -> None:
        for relation in node.relations or ():
            if isinstance(relation, ast.RangeVar):
                self.lock(analysis, relation, SHARE_UPDATE_EXCLUSIVE)
        analysis.works.append(Work(WorkKind.CATALOG))

    def on_CommentStmt(self, node: Any, analysis: Analysis) -> None:
        on_relation = node.objtype in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_COLUMN)
        if on_relation and isinstance(node.object, tuple):
            parts = strings(node.object)
            if node.objtype == ObjectType.OBJECT_COLUMN:
                parts = parts[:-1]
            table = self.catalog.find(parts[-2] if len(parts) > 1 else None, parts[-1])
            if table is not None:
                self.lock(analysis, table, SHARE_UPDATE_EXCLUSIVE)
        analysis.works.append(Work(WorkKind.CATALOG))

    def on_AlterOwnerStmt(self, node: Any, analysis: Analysis) -> None:
        if node.relation is not None:
            self.lock(analysis, node.relation, ACCESS_EXCLUSIVE)
        analysis.works.append(Work(WorkKind.CATALOG))
