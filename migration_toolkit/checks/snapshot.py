"""The schema as Postgres holds it (pg_catalog), comparable between two points in time.

The migration machinery's own tables (alembic_version, the checksums) are left out: they
record which revisions ran, they are not the schema the revisions build.
"""

from sqlalchemy import text
from sqlalchemy.engine import Connection

from migration_toolkit.revisions import VERSION_TABLE, bookkeeping_schema
from migration_toolkit.run.checksums import CHECKSUM_TABLE

Snapshot = dict[str, str]

_USER_SCHEMAS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
    "AND n.nspname NOT LIKE 'pg_temp%'"
)
_NOT_VERSION_TABLE = f"c.relname NOT IN ('{VERSION_TABLE}', '{CHECKSUM_TABLE}')"

# Each query yields (key, definition); keys are unique per kind.
_QUERIES: dict[str, str] = {
    "schema": f"""
        SELECT n.nspname, pg_get_userbyid(n.nspowner) FROM pg_namespace n
        WHERE {_USER_SCHEMAS} AND n.nspname <> 'public'""",
    "relation": f"""
        SELECT n.nspname || '.' || c.relname,
               CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table'
                    WHEN 'v' THEN 'view ' || pg_get_viewdef(c.oid)
                    WHEN 'm' THEN 'materialized view ' || pg_get_viewdef(c.oid)
                    WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' END
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {_USER_SCHEMAS}
          AND {_NOT_VERSION_TABLE}""",
    "column": f"""
        SELECT n.nspname || '.' || c.relname || '.' || a.attname,
               format_type(a.atttypid, a.atttypmod)
               || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE ' NULL' END
               || COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
               || CASE a.attidentity WHEN 'a' THEN ' IDENTITY ALWAYS'
                                     WHEN 'd' THEN ' IDENTITY BY DEFAULT' ELSE '' END
               || CASE WHEN a.attgenerated = 's' THEN ' GENERATED' ELSE '' END
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
          AND {_USER_SCHEMAS} AND {_NOT_VERSION_TABLE}""",
    "index": f"""
        SELECT n.nspname || '.' || i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class c ON c.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = i.relnamespace
        WHERE {_USER_SCHEMAS} AND {_NOT_VERSION_TABLE}""",
    "constraint": f"""
        SELECT n.nspname || '.' || c.relname || '.' || k.conname,
               pg_get_constraintdef(k.oid)
               || CASE WHEN k.convalidated THEN '' ELSE ' (not validated)' END
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        -- Postgres 18's NOT NULL constraints repeat the columns' nullability.
        WHERE k.contype <> 'n' AND {_USER_SCHEMAS} AND {_NOT_VERSION_TABLE}""",
    "enum type": f"""
        SELECT n.nspname || '.' || t.typname,
               string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder)
        FROM pg_type t
        JOIN pg_enum e ON e.enumtypid = t.oid
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE {_USER_SCHEMAS}
        GROUP BY n.nspname, t.typname""",
    "trigger": f"""
        SELECT n.nspname || '.' || c.relname || '.' || g.tgname, pg_get_triggerdef(g.oid)
        FROM pg_trigger g
        JOIN pg_class c ON c.oid = g.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT g.tgisinternal AND {_USER_SCHEMAS}""",
    "function": f"""
        SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid)
               || ')', md5(pg_get_functiondef(p.oid))
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prokind IN ('f', 'p') AND {_USER_SCHEMAS}
          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.objid = p.oid AND d.deptype = 'e')""",
    "extension": """
        SELECT extname, extversion FROM pg_extension WHERE extname <> 'plpgsql'""",
}


def take(connection: Connection) -> Snapshot:
    """Every column, type, nullability, default, index, constraint, enum type and more."""
    snapshot: Snapshot = {}
    for kind, query in _QUERIES.items():
        for key, definition in connection.execute(text(query)):
            snapshot[f"{kind} {key}"] = definition
    # The bookkeeping schema is the machinery's too (made before the first revision runs).
    snapshot.pop(f"schema {bookkeeping_schema()}", None)
    return snapshot


def differences(expected: Snapshot, actual: Snapshot) -> list[str]:
    """How actual differs from expected, one line each, sorted."""
    lines = []
    for key in sorted(expected.keys() | actual.keys()):
        if key not in actual:
            lines.append(f"{key} is missing ({expected[key]})")
        elif key not in expected:
            lines.append(f"{key} is extra ({actual[key]})")
        elif expected[key] != actual[key]:
            lines.append(f"{key}: expected {expected[key]}, found {actual[key]}")
    return lines


def summary(snapshot: Snapshot) -> str:
    counts: dict[str, int] = {}
    for key in snapshot:
        kind = key.rsplit(" ", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{count} {_plural(kind, count)}" for kind, count in counts.items())


def _plural(kind: str, count: int) -> str:
    if count == 1:
        return kind
    return kind + ("es" if kind.endswith(("x", "s")) else "s")
