"""The plan's rewrite rules agree with Postgres: a type change is planned as a rewrite exactly
when the server gives the table new files (pg_class.relfilenode changes)."""

from collections.abc import Callable

import pytest
from sqlalchemy.engine import URL

from migration_toolkit.plan.model import WorkKind
from tests.plan.support import plan_sql
from tests.support import pg

CHANGES = [
    ("varchar(10)", "varchar(20)"),
    ("varchar(20)", "varchar(10)"),
    ("varchar(10)", "varchar"),
    ("varchar(10)", "text"),
    ("text", "varchar(10)"),
    ("text", "varchar"),
    ("char(10)", "char(20)"),
    ("numeric(10,2)", "numeric(12,2)"),
    ("numeric(10,2)", "numeric(12,3)"),
    ("numeric(10,2)", "numeric"),
    ("integer", "bigint"),
    ("bigint", "integer"),
    ("timestamp", "timestamptz"),
    ("timestamp(3)", "timestamp(6)"),
    ("timestamp(6)", "timestamp(3)"),
    ("cidr", "inet"),
    ("varchar(10)[]", "varchar(20)[]"),
    ("integer", "integer"),
    ("text", "integer USING length(c)"),
]


@pytest.fixture(scope="module")
def scratch(new_database: Callable[[], URL]) -> URL:
    return new_database()


@pytest.mark.parametrize(("old", "new"), CHANGES, ids=[f"{o}->{n}" for o, n in CHANGES])
def test_planned_rewrite_matches_the_server(scratch: URL, old: str, new: str) -> None:
    pg.execute(
        scratch,
        "DROP TABLE IF EXISTS rw",
        f"CREATE TABLE rw (c {old})",
        "INSERT INTO rw VALUES (NULL)",
        "ANALYZE rw",
    )
    [found] = plan_sql(scratch, f"ALTER TABLE rw ALTER COLUMN c TYPE {new};")
    planned = found.analysis.work_kind is WorkKind.REWRITE

    def files() -> int:
        return int(pg.fetch(scratch, "SELECT relfilenode FROM pg_class WHERE relname = 'rw'")[0][0])

    before = files()
    pg.execute(scratch, f"ALTER TABLE rw ALTER COLUMN c TYPE {new}")
    assert planned == (files() != before)
