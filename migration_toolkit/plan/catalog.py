"""The live catalogs, read once: tables, their sizes, columns, indexes, constraints, traffic.

Everything here is a read of pg_catalog and pg_stat_user_tables, in a READ ONLY transaction,
so the plan may run with a role that can only read the catalogs. The snapshot is then changed
in memory as the plan walks its statements (a table created, a column added, an index built).
"""

import asyncio
import time
from dataclasses import dataclass, field

import asyncpg

from migration_toolkit.errors import UserFacingError

# A row count for a table Postgres never analyzed: its size over this many bytes per row.
GUESSED_ROW_BYTES = 100


@dataclass
class Column:
    type_oid: int
    typmod: int
    not_null: bool


@dataclass
class Constraint:
    kind: str  # pg_constraint.contype: c, f, p, u, x, n
    definition: str
    validated: bool
    referenced: str | None = None  # a foreign key's other table
    columns: tuple[str, ...] = ()  # a foreign key's columns, here and in the other table
    referenced_columns: tuple[str, ...] = ()


@dataclass
class Table:
    schema: str
    name: str
    display: str  # as regclass prints it: schema-qualified only when off the search path
    kind: str = "r"  # pg_class.relkind
    rows: float = 0.0
    analyzed: bool = True
    heap_bytes: int = 0
    total_bytes: int = 0
    new: bool = False  # created by a statement of this plan
    columns: dict[str, Column] = field(default_factory=dict)
    indexes: dict[str, tuple[bool, ...]] = field(default_factory=dict)  # name -> text keys
    constraints: dict[str, Constraint] = field(default_factory=dict)
    # Columns a valid CHECK (col IS NOT NULL) proves: SET NOT NULL skips its scan.
    proven_not_null: set[str] = field(default_factory=set)
    writes_per_s: float | None = None
    reads_per_s: float | None = None

    @property
    def has_rows(self) -> bool:
        return not self.new and self.rows > 0


@dataclass(frozen=True)
class PgType:
    oid: int
    schema: str
    name: str
    category: str  # pg_type.typcategory: S for strings, A for arrays, ...


@dataclass
class Catalog:
    search_path: list[str]
    timezone: str
    server_version: int
    tables: dict[tuple[str, str], Table] = field(default_factory=dict)
    index_tables: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    types: dict[int, PgType] = field(default_factory=dict)
    types_by_name: dict[tuple[str, str], int] = field(default_factory=dict)
    binary_casts: set[tuple[int, int]] = field(default_factory=set)
    volatility: dict[str, str] = field(default_factory=dict)
    versions: tuple[str, ...] = ()
    traffic_seconds: float = 0.0

    def find(self, schema: str | None, name: str) -> Table | None:
        """The table a (schema, name) as written in a statement means, by the search path."""
        if schema is not None:
            return self.tables.get((schema, name))
        for candidate in self.search_path:
            found = self.tables.get((candidate, name))
            if found is not None:
                return found
        return None

    def named(self, display: str) -> Table | None:
        """A table by the name regclass prints (a foreign key's referenced table)."""
        return next((t for t in self.tables.values() if t.display == display), None)

    def table_of_index(self, schema: str | None, name: str) -> Table | None:
        schemas = [schema] if schema is not None else self.search_path
        for candidate in schemas:
            owner = self.index_tables.get((candidate, name))
            if owner is not None:
                return self.tables.get(owner)
        return None

    def create(self, schema: str | None, name: str, kind: str = "r") -> Table:
        home = schema or (self.search_path[0] if self.search_path else "public")
        on_path = schema is None or (self.search_path and schema == self.search_path[0])
        display = name if on_path else f"{home}.{name}"
        table = Table(schema=home, name=name, display=display, kind=kind, new=True)
        self.tables[(home, name)] = table
        return table

    def drop(self, table: Table) -> None:
        self.tables.pop((table.schema, table.name), None)

    def rename(self, table: Table, new_name: str) -> None:
        self.tables.pop((table.schema, table.name), None)
        table.display = table.display.removesuffix(table.name) + new_name
        table.name = new_name
        self.tables[(table.schema, new_name)] = table

    def add_index(self, table: Table, name: str, text_keys: tuple[bool, ...]) -> None:
        table.indexes[name] = text_keys
        self.index_tables[(table.schema, name)] = (table.schema, table.name)

    def type_oid(self, schema: str | None, name: str) -> int | None:
        if schema is not None:
            return self.types_by_name.get((schema, name))
        for candidate in ["pg_catalog", *self.search_path]:
            oid = self.types_by_name.get((candidate, name))
            if oid is not None:
                return oid
        return None

    def is_string(self, type_oid: int) -> bool:
        found = self.types.get(type_oid)
        return found is not None and found.category == "S"


_TABLES = """
SELECT c.oid, n.nspname, c.relname, c.oid::regclass::text AS display,
       c.relkind::text AS relkind, c.reltuples, pg_relation_size(c.oid) AS heap,
       pg_total_relation_size(c.oid) AS total
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm', 'v') AND n.nspname <> 'information_schema'
  AND n.nspname NOT LIKE 'pg\\_%'
"""
_COLUMNS = """
SELECT attrelid, attname, atttypid, atttypmod, attnotnull FROM pg_attribute
WHERE attrelid = ANY($1::oid[]) AND attnum > 0 AND NOT attisdropped
"""
_INDEXES = """
SELECT n.nspname, ic.relname, i.indrelid,
       array_agg(coalesce(t.typcategory = 'S', false) ORDER BY k.ord) AS text_keys
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
LEFT JOIN pg_type t ON t.oid = a.atttypid
WHERE i.indrelid = ANY($1::oid[])
GROUP BY n.nspname, ic.relname, i.indrelid
"""
_CONSTRAINTS = """
SELECT c.conrelid, c.conname, c.contype::text AS contype,
       pg_get_constraintdef(c.oid) AS definition,
       c.convalidated,
       CASE WHEN c.confrelid <> 0 THEN c.confrelid::regclass::text END AS referenced,
       ARRAY(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n ORDER BY k.i) AS columns,
       ARRAY(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute ON attrelid = c.confrelid AND attnum = k.n ORDER BY k.i)
         AS referenced_columns
FROM pg_constraint c WHERE c.conrelid = ANY($1::oid[])
"""
_TYPES = """
SELECT t.oid, n.nspname, t.typname, t.typcategory::text AS typcategory
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype IN ('b', 'd', 'e', 'r', 'm')
"""
_TRAFFIC = """
SELECT relid, n_tup_ins + n_tup_upd + n_tup_del AS writes,
       seq_scan + coalesce(idx_scan, 0) AS reads FROM pg_stat_user_tables
"""
_NOT_NULL_CHECK = "CHECK (({column} IS NOT NULL))"


async def _versions(connection: asyncpg.Connection, version_table: str) -> tuple[str, ...]:
    present = await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", version_table)
    if not present:
        return ()
    user = await connection.fetchval("SELECT current_user")
    try:
        rows = await connection.fetch(f"SELECT version_num FROM {version_table}")
    except asyncpg.InsufficientPrivilegeError:
        raise UserFacingError(
            f"user {user!r} may not read {version_table}: the plan needs only that and the "
            f"catalogs (GRANT SELECT ON {version_table} TO {user})"
        ) from None
    return tuple(sorted(row["version_num"] for row in rows))


async def _traffic(
    connection: asyncpg.Connection, seconds: float
) -> dict[int, tuple[float, float]]:
    """Writes and reads (scans) per second of each table, over `seconds` of live traffic."""
    if seconds <= 0:
        return {}
    first = {row["relid"]: row for row in await connection.fetch(_TRAFFIC)}
    started = time.monotonic()
    await asyncio.sleep(seconds)
    # Each read is a statement of its own: pg_stat_* views are cached within a transaction.
    second = await connection.fetch(_TRAFFIC)
    elapsed = time.monotonic() - started
    rates: dict[int, tuple[float, float]] = {}
    for row in second:
        before = first.get(row["relid"])
        if before is not None:
            rates[row["relid"]] = (
                (row["writes"] - before["writes"]) / elapsed,
                (row["reads"] - before["reads"]) / elapsed,
            )
    return rates


async def load(
    connection: asyncpg.Connection, *, version_table: str = "alembic_version", traffic: float = 0
) -> Catalog:
    """Read everything the plan needs; the traffic is sampled over `traffic` seconds."""
    rates = await _traffic(connection, traffic)
    async with connection.transaction(readonly=True):
        search_path = list(await connection.fetchval("SELECT current_schemas(false)"))
        catalog = Catalog(
            search_path=search_path,
            timezone=await connection.fetchval("SELECT current_setting('TimeZone')"),
            server_version=int(await connection.fetchval("SHOW server_version_num")),
            traffic_seconds=traffic,
        )
        catalog.versions = await _versions(connection, version_table)
        by_oid: dict[int, Table] = {}
        for row in await connection.fetch(_TABLES):
            analyzed = row["reltuples"] >= 0
            rows = row["reltuples"] if analyzed else row["heap"] / GUESSED_ROW_BYTES
            table = Table(
                schema=row["nspname"],
                name=row["relname"],
                display=row["display"],
                kind=row["relkind"],
                rows=float(rows),
                analyzed=analyzed,
                heap_bytes=int(row["heap"]),
                total_bytes=int(row["total"]),
            )
            if row["oid"] in rates:
                table.writes_per_s, table.reads_per_s = rates[row["oid"]]
            by_oid[row["oid"]] = table
            catalog.tables[(table.schema, table.name)] = table
        oids = list(by_oid)
        for row in await connection.fetch(_COLUMNS, oids):
            by_oid[row["attrelid"]].columns[row["attname"]] = Column(
                row["atttypid"], row["atttypmod"], row["attnotnull"]
            )
        for row in await connection.fetch(_INDEXES, oids):
            catalog.add_index(by_oid[row["indrelid"]], row["relname"], tuple(row["text_keys"]))
        for row in await connection.fetch(_CONSTRAINTS, oids):
            table = by_oid[row["conrelid"]]
            constraint = Constraint(
                row["contype"],
                row["definition"],
                row["convalidated"],
                row["referenced"],
                tuple(row["columns"]),
                tuple(row["referenced_columns"]),
            )
            table.constraints[row["conname"]] = constraint
            for column in table.columns:
                if constraint.validated and constraint.definition == _NOT_NULL_CHECK.format(
                    column=column
                ):
                    table.proven_not_null.add(column)
        for row in await connection.fetch(_TYPES):
            found = PgType(row["oid"], row["nspname"], row["typname"], row["typcategory"])
            catalog.types[found.oid] = found
            catalog.types_by_name[(found.schema, found.name)] = found.oid
        casts = await connection.fetch(
            "SELECT castsource, casttarget FROM pg_cast WHERE castmethod = 'b'"
        )
        catalog.binary_casts = {(row["castsource"], row["casttarget"]) for row in casts}
        # For a name with several signatures, the most volatile ('v' > 's' > 'i') counts.
        functions = await connection.fetch(
            "SELECT proname, max(provolatile::text) AS volatility FROM pg_proc GROUP BY proname"
        )
        catalog.volatility = {row["proname"]: row["volatility"] for row in functions}
    return catalog


def not_null_check(column: str) -> str:
    return _NOT_NULL_CHECK.format(column=column)
