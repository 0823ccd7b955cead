"""`make migration-sql rev=a:b`: the SQL for review, without a database."""

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from migration_toolkit.checks.offline_sql import range_sql
from migration_toolkit.errors import UserFacingError
from tests.storage.checks_support import FIRST
from tests.support.project import Project, copy_project

NOBODY = make_url("postgresql+asyncpg://postgres:x@127.0.0.1:1/app")


@pytest.mark.e2e
def test_the_whole_history_by_default_with_no_database(tmp_path: Path) -> None:
    project = Project(root=copy_project(tmp_path / "project"), database_url=NOBODY)
    result = project.make("migration-sql")
    assert result.returncode == 0, result.output
    assert f"-- Running upgrade  -> {FIRST}" in result.stdout
    assert "CREATE TABLE author (" in result.stdout
    assert "CREATE INDEX ix_book_author_id ON book (author_id);" in result.stdout
    bad = project.make("migration-sql", "rev=nosuch:head")
    assert bad.returncode != 0
    assert bad.errors() == [
        "error: Can't locate revision identified by 'nosuch'; "
        "`make migration-history` lists the revisions"
    ]


def test_a_range_from_newer_to_older_is_the_downgrade() -> None:
    down = range_sql("head:base")
    assert f"-- Running downgrade {FIRST} -> " in down
    assert "DROP TABLE author;" in down


def test_a_range_that_runs_nothing_is_refused() -> None:
    with pytest.raises(UserFacingError, match="rev=head:head runs no revision"):
        range_sql("head:head")
