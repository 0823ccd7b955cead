"""UPDATE, DELETE, INSERT, SELECT: row locks, and a backfill's batches by its tag."""

import re
from typing import Any

from pglast import ast
from pglast.visitors import referenced_relations

from migration_toolkit.online.backfill import TAG as BACKFILL_TAG
from migration_toolkit.plan.base import Base
from migration_toolkit.plan.locks import ACCESS_SHARE, ROW_EXCLUSIVE
from migration_toolkit.plan.model import Analysis, Work, WorkKind

_BATCH = re.compile(re.escape(BACKFILL_TAG) + r"\b[^*]*?batch_size=(?P<size>\d+)")


class RowStatements(Base):
    def on_UpdateStmt(self, node: Any, analysis: Analysis) -> None:
        self.rows(node.relation, node.whereClause, node.fromClause, analysis)

    def on_DeleteStmt(self, node: Any, analysis: Analysis) -> None:
        self.rows(node.relation, node.whereClause, node.usingClause, analysis)

    def rows(
        self,
        relation: Any,
        where: Any,
        others: Any,
        analysis: Analysis,
    ) -> None:
        table = self.table(relation)
        self.lock(analysis, table or relation, ROW_EXCLUSIVE)
        for other in others or ():
            if isinstance(other, ast.RangeVar):
                self.lock(analysis, other, ACCESS_SHARE)
        batch = _BATCH.search(analysis.sql)
        if batch is not None:
            analysis.kind = "BACKFILL (online.backfill)"
            size = int(batch.group("size"))
            self.work(
                analysis, WorkKind.BACKFILL, table, batch_rows=size, text_keys=self.indexed(table)
            )
            return
        self.work(analysis, WorkKind.ROWS, table, text_keys=self.indexed(table))
        analysis.row_locks = table is not None and table.has_rows
        if where is not None:
            analysis.notes.append(
                "rows: the whole table, at most (the WHERE clause may match fewer)"
            )
        if table is not None and table.has_rows and analysis.kind == "UPDATE":
            analysis.advice = (
                f'online.backfill("{table.display}", "<SET list>", where="<rows still to do>")'
            )

    def on_InsertStmt(self, node: Any, analysis: Analysis) -> None:
        self.lock(analysis, node.relation, ROW_EXCLUSIVE)
        select = node.selectStmt
        sources = [] if select is None else sorted(referenced_relations(select))
        for name in sources:
            schema, _, relname = name.rpartition(".")
            source = self.catalog.find(schema or None, relname)
            if source is not None:
                self.lock(analysis, source, ACCESS_SHARE)
                self.work(analysis, WorkKind.ROWS, source, detail="rows read and inserted")
        if not sources:
            analysis.works.append(
                Work(WorkKind.CATALOG, self.name(node.relation), detail="a few rows")
            )

    def on_SelectStmt(self, node: Any, analysis: Analysis) -> None:
        names = sorted(referenced_relations(node))
        if not names:
            analysis.works.append(Work(WorkKind.NONE))  # SELECT setval(...), a function call
            return
        for name in names:
            schema, _, relname = name.rpartition(".")
            source = self.catalog.find(schema or None, relname)
            if source is not None:
                self.lock(analysis, source, ACCESS_SHARE)
                self.work(analysis, WorkKind.SCAN, source)
