"""Histories that fork: rollback across a merge, the production guard on one, and the one-line
errors for what teams get wrong (a duplicated revision id, a broken model module a revision
imports, a table on a MetaData of its own). Each through the real make targets."""

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import URL

from tests.storage.checks_support import FIRST, added_file, revision_path, revision_text, revisions
from tests.support import pg
from tests.support.project import Project, Result, copy_project

BRANCH_A = revision_text(
    "b1000000000a",
    FIRST,
    'op.add_column("author", sa.Column("nickname", sa.String(80), nullable=True))',
    'op.drop_column("author", "nickname")',
    message="author nickname",
)
BRANCH_B = revision_text(
    "b2000000000b",
    FIRST,
    'op.add_column("book", sa.Column("isbn", sa.String(13), nullable=True))',
    'op.drop_column("book", "isbn")',
    message="book isbn",
)
MERGE = revision_text("b3000000000c", None, "pass", message="merge heads").replace(
    "down_revision = None", 'down_revision = ("b1000000000a", "b2000000000b")'
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, new_database: Callable[[], URL]) -> Project:
    return Project(
        root=copy_project(tmp_path_factory.mktemp("branches") / "project"),
        database_url=new_database(),
    )


@pytest.fixture
def merged(project: Project) -> Iterator[Project]:
    """Two branches on the first revision and their merge, applied."""
    with revisions(
        project, ("b1000000000a", BRANCH_A), ("b2000000000b", BRANCH_B), ("b3000000000c", MERGE)
    ):
        # Written in this order: A before B (the file names sort by creation time).
        for revision, stamp in (("b1000000000a", "0001"), ("b2000000000b", "0002")):
            path = revision_path(project, revision)
            path.rename(path.with_name(path.name.replace("_0000-", f"_{stamp}-")))
        migrated = project.make("migrate")
        assert migrated.returncode == 0, migrated.output
        try:
            yield project
        finally:
            project.make("rollback", "rev=base")
            for path in project.versions():
                if path.stem.endswith(("b1000000000a", "b2000000000b")):
                    path.unlink()


def one_error(result: Result) -> str:
    assert result.returncode != 0, result.output
    assert "Traceback" not in result.output, result.output
    assert len(result.errors()) == 1, result.output
    return result.errors()[0]


def test_rollback_from_a_merge_leaves_both_branches(merged: Project) -> None:
    url = merged.database_url
    undone = merged.make("rollback")
    assert undone.returncode == 0, undone.output
    assert pg.version(url) == ["b1000000000a", "b2000000000b"]
    assert "the database is at 2 heads" in undone.output
    assert "`make migrate` merges them again" in undone.output
    # -1 again: the branch written last goes first.
    assert merged.make("rollback").returncode == 0
    assert pg.version(url) == ["b1000000000a"]
    assert "isbn" not in pg.columns(url, "book")
    assert merged.make("migrate").returncode == 0
    assert pg.version(url) == ["b3000000000c"]
    # -3 from the merge point: the merge, then each branch.
    assert merged.make("rollback", "rev=-3").returncode == 0
    assert pg.version(url) == [FIRST]
    assert merged.make("migrate", "rev=+2").returncode == 0
    assert pg.version(url) == ["b1000000000a", "b2000000000b"]


def test_rollback_to_a_branch_revision_by_id(merged: Project) -> None:
    url = merged.database_url
    result = merged.make("rollback", "rev=b1000000000a")
    assert result.returncode == 0, result.output
    # Alembic's meaning: what is above b1 goes (the merge); the other branch stays.
    assert pg.version(url) == ["b1000000000a", "b2000000000b"]
    error = one_error(merged.make("rollback", "rev=b3000000000c-1"))
    assert "Ambiguous walk" not in error
    assert "crosses a branch or merge point" in error and "make rollback rev=<id>" in error


def test_the_production_guard_shows_a_merge_rollback(merged: Project) -> None:
    production = Project(merged.root, merged.database_url, env={"APP_ENV": "production"})
    refused = production.make("rollback")
    assert "confirm=b3000000000c:b1000000000a,b2000000000b" in one_error(refused)
    assert "-- Running downgrade b3000000000c -> b1000000000a, b2000000000b" in refused.stdout
    confirmed = production.make("rollback", "confirm=b3000000000c:b1000000000a,b2000000000b")
    assert confirmed.returncode == 0, confirmed.output
    assert pg.version(merged.database_url) == ["b1000000000a", "b2000000000b"]


def test_a_duplicated_revision_id_is_named_as_such(project: Project) -> None:
    copy = revision_text("b1000000000a", FIRST, "pass", message="one")
    again = revision_text("b1000000000a", FIRST, "pass", message="another")
    with revisions(project, ("b1000000000a", copy)) as (path,):
        twin = path.with_name(path.name.replace("hand_written", "copied"))
        twin.write_text(again)
        try:
            for target in ("migrate", "migration-check", "migration-test", "migration-lint"):
                error = one_error(project.make(target))
                assert "revision id b1000000000a is declared by 2 files" in error, target
                assert "heads" not in error, target
            error = one_error(project.make("migration", "msg=more"))
            assert "revision id b1000000000a is declared by 2 files" in error
        finally:
            twin.unlink()


def test_migration_test_blames_a_broken_model_module_not_a_revision(project: Project) -> None:
    reads_models = revision_text(
        "b4000000000d", FIRST, "from app.models import Author  # noqa: F401", "pass"
    )
    with (
        revisions(project, ("b4000000000d", reads_models)),
        added_file(project, "app/models/broken.py", "raise RuntimeError('oops')\n"),
    ):
        error = one_error(project.make("migration-test"))
    assert "model module app.models.broken failed to import (RuntimeError: oops)" in error
    assert "upgrade of" not in error


def test_a_table_on_a_metadata_of_its_own_stops_make_migration(project: Project) -> None:
    legacy = (
        "import sqlalchemy as sa\n"
        "from sqlalchemy.orm import declarative_base\n\n"
        "Base = declarative_base()\n\n\n"
        "class Legacy(Base):\n"
        '    __tablename__ = "legacy"\n'
        "    id = sa.Column(sa.Integer, primary_key=True)\n"
    )
    before = project.versions()
    assert project.make("migrate").returncode == 0
    with added_file(project, "app/models/legacy.py", legacy):
        error = one_error(project.make("migration", "msg=legacy"))
    assert "table 'legacy' in app.models.legacy is on a MetaData of its own" in error
    assert project.versions() == before
