"""What every statement handler needs: tables by name, locks, work with the catalog's sizes."""

from typing import Any

from pglast import ast

from migration_toolkit.plan.catalog import Catalog, Table
from migration_toolkit.plan.locks import LockMode
from migration_toolkit.plan.model import Analysis, Lock, Work, WorkKind


class Base:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def table(self, relation: Any) -> Table | None:
        return self.catalog.find(relation.schemaname, relation.relname)

    def name(self, relation: Any) -> str:
        found = self.table(relation)
        if found is not None:
            return found.display
        return (
            f"{relation.schemaname}.{relation.relname}" if relation.schemaname else relation.relname
        )

    def lock(self, analysis: Analysis, relation: Any, mode: LockMode) -> None:
        found = self.table(relation) if isinstance(relation, ast.RangeVar) else relation
        name = found.display if found is not None else self.name(relation)
        analysis.locks.append(Lock(name, mode, new=found is None or found.new))

    def work(
        self, analysis: Analysis, kind: WorkKind, table: Table | None, **extra: object
    ) -> None:
        if table is None or table.new or kind is WorkKind.CATALOG:
            analysis.works.append(Work(WorkKind.CATALOG, table.display if table else None))
            return
        analysis.works.append(
            Work(
                kind,
                table.display,
                rows=table.rows,
                heap_bytes=table.heap_bytes,
                total_bytes=table.total_bytes,
                **extra,  # type: ignore[arg-type]
            )
        )

    def rewrite(self, analysis: Analysis, table: Table | None) -> None:
        """Every row written again, every index rebuilt."""
        self.work(analysis, WorkKind.REWRITE, table, text_keys=self.indexed(table))

    def indexed(self, table: Table | None) -> tuple[bool, ...]:
        """One entry per index of the table: whether it has a string key."""
        return tuple(any(keys) for keys in table.indexes.values()) if table else ()

    def text_keys(self, table: Table | None, elements: Any) -> tuple[bool, ...]:
        keys = []
        for element in elements:
            column = table.columns.get(element.name) if table and element.name else None
            keys.append(column is not None and self.catalog.is_string(column.type_oid))
        return tuple(keys)
