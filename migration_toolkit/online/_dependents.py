"""What hangs on a column, read from pg_catalog, as the statements that rebuild it on another.

change_column_type() moves a column's indexes, unique constraints, foreign keys, default,
owned sequence and comment onto the column that replaces it. Anything else depending on the
column (a view, a CHECK, the primary key, another table's foreign key, an expression index on
it, a policy...) is refused up front, named, before anything is changed.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from alembic import op
from sqlalchemy import text

from migration_toolkit.online._sql import quote
from migration_toolkit.online.constraints import MAX_NAME


class UnsupportedColumn(RuntimeError):
    """The column has something depending on it that change_column_type cannot carry over."""


@dataclass(frozen=True)
class Column:
    attnum: int
    type: str
    not_null: bool
    default: str | None
    comment: str | None
    sequence: str | None  # a sequence owned by the column (serial)
    not_null_name: str | None  # Postgres 18+: the NOT NULL constraint's name


@dataclass(frozen=True)
class IndexCopy:
    name: str
    temp: str
    create: str  # CREATE INDEX CONCURRENTLY IF NOT EXISTS <temp> ...
    swap: str  # the statement giving <temp> the old index's (or constraint's) place


@dataclass(frozen=True)
class ForeignKeyCopy:
    name: str
    temp: str
    referent: str
    add: str  # ADD CONSTRAINT <temp> ... NOT VALID


@dataclass
class Dependents:
    indexes: list[IndexCopy] = field(default_factory=list)
    foreign_keys: list[ForeignKeyCopy] = field(default_factory=list)


def temp_name(name: str, suffix: str = "_retype") -> str:
    return name[: MAX_NAME - len(suffix)] + suffix


def _rows(sql: str, **params: object) -> list[dict[str, Any]]:
    return [dict(row) for row in op.get_bind().execute(text(sql), params).mappings()]


def read_column(table: str, column: str) -> Column | None:
    rows = _rows(
        "SELECT a.attnum, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid) AS default, col_description(a.attrelid, a.attnum) "
        "AS comment, a.attidentity <> '' AS identity, a.attgenerated <> '' AS generated, "
        "(SELECT s.oid::regclass::text FROM pg_depend x JOIN pg_class s ON s.oid = x.objid "
        " WHERE x.classid = 'pg_class'::regclass AND x.refobjid = a.attrelid "
        " AND x.refobjsubid = a.attnum AND s.relkind = 'S' LIMIT 1) AS sequence, "
        "(SELECT to_jsonb(c) ->> 'conname' FROM pg_constraint c WHERE c.conrelid = a.attrelid "
        " AND c.contype::text = 'n' AND a.attnum = ANY(c.conkey) LIMIT 1) AS not_null_name "
        "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid "
        "AND d.adnum = a.attnum WHERE a.attrelid = to_regclass(:table) "
        "AND a.attname = :column AND NOT a.attisdropped",
        table=quote(table),
        column=column,
    )
    if not rows:
        return None
    row = rows[0]
    if row["identity"] or row["generated"]:
        kind = "an identity" if row["identity"] else "a generated"
        raise UnsupportedColumn(f"{table}.{column} is {kind} column: change it by hand")
    return Column(
        attnum=row["attnum"],
        type=row["type"],
        not_null=row["attnotnull"],
        default=row["default"],
        comment=row["comment"],
        sequence=row["sequence"],
        not_null_name=row["not_null_name"],
    )


def _mentions(sql: str | None, column: str) -> bool:
    if not sql:
        return False
    return re.search(rf'(?<![\w"]){re.escape(quote(column))}(?![\w"])', sql) is not None


def _refuse(table: str, column: str, what: str, how: str) -> UnsupportedColumn:
    return UnsupportedColumn(
        f"change_column_type({table}.{column}): {what} depends on the column; {how}"
    )


def _index_copy(
    table: str, column: str, attnum: int, shadow: str, row: dict[str, Any]
) -> IndexCopy:
    name: str = row["name"]
    keys: list[int] = list(row["keys"])
    options: list[int] = list(row["options"])
    columns: list[str] = list(row["columns"])
    nkeys: int = row["nkeys"]
    how = "drop it before and create it again after the change"
    if row["contype"] in ("p", "x"):
        kind = "the primary key" if row["contype"] == "p" else f"exclusion constraint {name}"
        raise _refuse(table, column, kind, how)
    if not row["plain"]:
        raise _refuse(table, column, f"index {name} (operator class or collation)", how)
    if attnum not in keys or _mentions(row["expressions"], column):
        raise _refuse(table, column, f"index {name} (an expression on it)", how)
    if _mentions(row["predicate"], column):
        raise _refuse(table, column, f"index {name} (its WHERE)", how)
    temp = temp_name(name)
    parts = []
    for position, (key, shown) in enumerate(zip(keys, columns, strict=True)):
        part = quote(shadow) if key == attnum else shown
        if position < nkeys:
            descending, nulls_first = bool(options[position] & 1), bool(options[position] & 2)
            part += " DESC" if descending else ""
            if nulls_first != descending:
                part += " NULLS FIRST" if nulls_first else " NULLS LAST"
        parts.append(part)
    unique = "UNIQUE " if row["unique"] else ""
    create = (
        f"CREATE {unique}INDEX CONCURRENTLY IF NOT EXISTS {quote(temp)} ON {quote(table)} "
        f"USING {row['method']} ({', '.join(parts[:nkeys])})"
    )
    if len(parts) > nkeys:
        create += f" INCLUDE ({', '.join(parts[nkeys:])})"
    if row["nulls_not_distinct"] == "true":
        create += " NULLS NOT DISTINCT"
    if row["reloptions"]:
        create += f" WITH ({', '.join(row['reloptions'])})"
    if row["predicate"]:
        create += f" WHERE {row['predicate']}"
    if row["contype"] == "u":
        deferrable = " DEFERRABLE" if row["deferrable"] else ""
        deferrable += " INITIALLY DEFERRED" if row["deferred"] else ""
        swap = (
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(row['conname'])} "
            f"UNIQUE USING INDEX {quote(temp)}{deferrable}"
        )
    else:
        swap = f"ALTER INDEX {quote(temp)} RENAME TO {quote(name)}"
    return IndexCopy(name=name, temp=temp, create=create, swap=swap)


_INDEXES = """
SELECT c.relname AS name, am.amname AS method, i.indisunique AS unique, i.indnkeyatts AS nkeys,
  i.indkey::int2[] AS keys, i.indoption::int2[] AS options,
  ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
        FROM generate_series(1, i.indnatts) AS k) AS columns,
  pg_get_expr(i.indexprs, i.indrelid) AS expressions,
  pg_get_expr(i.indpred, i.indrelid) AS predicate, c.reloptions,
  to_jsonb(i) ->> 'indnullsnotdistinct' AS nulls_not_distinct,
  NOT EXISTS (SELECT 1 FROM unnest(i.indclass::oid[]) AS k(opclass)
              JOIN pg_opclass o ON o.oid = k.opclass WHERE NOT o.opcdefault)
  AND NOT EXISTS (SELECT 1 FROM unnest(i.indcollation::oid[]) WITH ORDINALITY AS k(coll, n)
                  WHERE k.coll <> 0 AND k.coll <> coalesce((SELECT attcollation
                    FROM pg_attribute WHERE attrelid = i.indrelid
                    AND attnum = i.indkey[k.n - 1]), 0)) AS plain,
  con.contype::text AS contype, con.conname, con.condeferrable AS deferrable,
  con.condeferred AS deferred
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
  AND con.contype IN ('p', 'u', 'x')
WHERE i.indexrelid = :oid
"""

_FOREIGN_KEY = """
SELECT conname, pg_get_constraintdef(oid) AS definition, confrelid::regclass::text AS referent,
  ARRAY(SELECT a.attname FROM unnest(conkey) WITH ORDINALITY AS k(num, n)
        JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k.num ORDER BY k.n)
    AS columns
FROM pg_constraint WHERE oid = :oid
"""

_DEPENDENTS = """
SELECT d.classid::regclass::text AS catalog, d.objid AS oid, d.objsubid,
  pg_describe_object(d.classid, d.objid, d.objsubid) AS description,
  CASE WHEN d.classid = 'pg_class'::regclass
       THEN (SELECT relkind::text FROM pg_class WHERE oid = d.objid) END AS relkind,
  CASE WHEN d.classid = 'pg_constraint'::regclass
       THEN (SELECT contype::text FROM pg_constraint WHERE oid = d.objid) END AS contype,
  CASE WHEN d.classid = 'pg_constraint'::regclass
       THEN (SELECT conindid FROM pg_constraint WHERE oid = d.objid) END AS index
FROM pg_depend d
WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass(:table)
  AND d.refobjsubid = :attnum AND d.deptype <> 'i'
UNION ALL
SELECT 'referenced', c.oid, 0, pg_describe_object('pg_constraint'::regclass, c.oid, 0), NULL,
  'referenced', NULL
FROM pg_constraint c
WHERE c.confrelid = to_regclass(:table) AND :attnum = ANY(c.confkey)
"""


def read_dependents(
    table: str, column: str, attnum: int, shadow: str, ignore: set[str]
) -> Dependents:
    """The copies to make on `shadow`; UnsupportedColumn for anything that cannot be copied.

    `ignore` names constraints of our own (a NOT NULL check in progress).
    """
    found = Dependents()
    seen_indexes: set[int] = set()
    for row in _rows(_DEPENDENTS, table=quote(table), attnum=attnum):
        description: str = row["description"]
        oid: int = row["oid"]
        catalog, relkind = row["catalog"], row["relkind"]
        if catalog == "pg_attrdef" or (catalog == "pg_class" and relkind == "S"):
            continue  # the default and an owned sequence move in the swap itself
        if catalog == "pg_constraint" and row["contype"] in ("u", "p", "x"):
            # Its index depends on the constraint, not on the column: reach it from here.
            catalog, relkind, oid = "pg_class", "i", row["index"]
        if catalog == "pg_class" and relkind in ("i", "I"):
            if oid in seen_indexes:
                continue
            seen_indexes.add(oid)
            index = _rows(_INDEXES, oid=oid)[0]
            if index["name"] in ignore:
                continue
            found.indexes.append(_index_copy(table, column, attnum, shadow, index))
            continue
        if catalog == "pg_constraint" and row["contype"] == "n":
            continue  # Postgres 18's NOT NULL constraint: set_not_null() makes the new one
        if catalog == "pg_constraint" and row["contype"] == "f":
            found.foreign_keys.append(_foreign_key_copy(table, column, shadow, oid))
            continue
        if any(name in description for name in ignore):
            continue
        how = (
            "change it too, or drop it before and create it again after"
            if row["contype"] == "referenced"
            else "drop it before the change and create it again after"
        )
        raise _refuse(table, column, description, how)
    return found


def _foreign_key_copy(table: str, column: str, shadow: str, oid: int) -> ForeignKeyCopy:
    row = _rows(_FOREIGN_KEY, oid=oid)[0]
    name: str = row["conname"]
    definition: str = row["definition"]
    columns: list[str] = list(row["columns"])
    local = "FOREIGN KEY (" + ", ".join(quote(c) for c in columns) + ")"
    if not definition.startswith(local):
        raise _refuse(table, column, f"foreign key {name}", "drop it before, add it after")
    rest = definition[len(local) :].replace(" NOT VALID", "")
    renamed = ", ".join(quote(shadow if c == column else c) for c in columns)
    temp = temp_name(name)
    add = (
        f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(temp)} "
        f"FOREIGN KEY ({renamed}){rest} NOT VALID"
    )
    return ForeignKeyCopy(name=name, temp=temp, referent=row["referent"], add=add)
