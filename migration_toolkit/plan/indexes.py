"""CREATE INDEX, REINDEX, CLUSTER, VACUUM, REFRESH: the statements that build or rebuild."""

from typing import Any

from migration_toolkit.plan.base import Base
from migration_toolkit.plan.locks import (
    ACCESS_EXCLUSIVE,
    EXCLUSIVE,
    SHARE,
    SHARE_UPDATE_EXCLUSIVE,
)
from migration_toolkit.plan.model import Analysis, Work, WorkKind


class IndexStatements(Base):
    def on_IndexStmt(self, node: Any, analysis: Analysis) -> None:
        table = self.table(node.relation)
        analysis.kind = "CREATE INDEX CONCURRENTLY" if node.concurrent else "CREATE INDEX"
        if node.unique:
            analysis.kind = analysis.kind.replace("INDEX", "UNIQUE INDEX")
        self.lock(
            analysis, table or node.relation, SHARE_UPDATE_EXCLUSIVE if node.concurrent else SHARE
        )
        keys = self.text_keys(table, node.indexParams or ())
        if node.if_not_exists and table is not None and node.idxname in table.indexes:
            analysis.works.append(Work(WorkKind.CATALOG, table.display, detail="exists"))
            return
        kind = WorkKind.CONCURRENT_INDEX if node.concurrent else WorkKind.INDEX
        self.work(analysis, kind, table, text_keys=keys)
        if table is not None and node.idxname:
            self.catalog.add_index(table, node.idxname, keys)
        if not node.concurrent and table is not None and table.has_rows:
            columns = ", ".join(
                f'"{element.name}"' if element.name else "..." for element in node.indexParams
            )
            unique = ", unique=True" if node.unique else ""
            analysis.advice = (
                f'online.create_index_concurrently("{node.idxname}", "{table.display}", '
                f"[{columns}]{unique})"
            )
        if node.unique and table is not None and table.has_rows:
            analysis.notes.append("fails if existing rows have duplicate keys")

    def on_ReindexStmt(self, node: Any, analysis: Analysis) -> None:
        concurrent = any(param.defname == "concurrently" for param in node.params or ())
        if node.relation is None:
            analysis.unknown = "REINDEX of a whole schema or database"
            return
        table = self.table(node.relation) or self.catalog.table_of_index(
            node.relation.schemaname, node.relation.relname
        )
        self.lock(analysis, table or node.relation, SHARE_UPDATE_EXCLUSIVE if concurrent else SHARE)
        kind = WorkKind.CONCURRENT_INDEX if concurrent else WorkKind.INDEX
        self.work(analysis, kind, table, text_keys=(True,))

    def on_ClusterStmt(self, node: Any, analysis: Analysis) -> None:
        if node.relation is None:
            analysis.unknown = "CLUSTER of every table"
            return
        self.lock(analysis, node.relation, ACCESS_EXCLUSIVE)
        self.rewrite(analysis, self.table(node.relation))

    def on_VacuumStmt(self, node: Any, analysis: Analysis) -> None:
        full = any(option.defname == "full" for option in node.options or ())
        analysis.kind = "VACUUM FULL" if full else ("VACUUM" if node.is_vacuumcmd else "ANALYZE")
        for relation in node.rels or ():
            table = self.table(relation.relation)
            self.lock(
                analysis,
                table or relation.relation,
                ACCESS_EXCLUSIVE if full else SHARE_UPDATE_EXCLUSIVE,
            )
            if full:
                self.rewrite(analysis, table)
            else:
                self.work(analysis, WorkKind.SCAN, table)
        if not node.rels:
            analysis.unknown = f"{analysis.kind} of every table"

    def on_RefreshMatViewStmt(self, node: Any, analysis: Analysis) -> None:
        self.lock(analysis, node.relation, EXCLUSIVE if node.concurrent else ACCESS_EXCLUSIVE)
        self.rewrite(analysis, self.table(node.relation))
