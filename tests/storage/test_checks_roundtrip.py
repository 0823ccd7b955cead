"""`make migration-test`: up one at a time, down to base, up again, comparing pg_catalog."""

from collections.abc import Callable

import pytest
from sqlalchemy.engine import URL

from migration_toolkit.checks import snapshot
from migration_toolkit.checks.connection import run_on
from tests.storage.checks_support import FIRST, revision_text, revisions
from tests.support import pg
from tests.support.project import Project, copy_project

NICKNAME = revision_text(
    "0c0000000001",
    FIRST,
    'op.add_column("author", sa.Column("nickname", sa.String(80), nullable=True))',
    'op.drop_column("author", "nickname")',
    message="add author nickname",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, new_database: Callable[[], URL]) -> Project:
    return Project(
        root=copy_project(tmp_path_factory.mktemp("roundtrip") / "project"),
        database_url=new_database(),
    )


def test_a_sound_history_round_trips(project: Project) -> None:
    with revisions(project, ("0c0000000001", NICKNAME)):
        result = project.make("migration-test")
    assert result.returncode == 0, result.output
    assert "2 revision(s) upgraded one at a time to head" in result.stdout
    assert pg.tables(project.database_url) == set()


def test_a_downgrade_that_leaves_a_column_behind_is_named(project: Project) -> None:
    leaky = NICKNAME.replace('op.drop_column("author", "nickname")', "pass")
    with revisions(project, ("0c0000000001", leaky)) as paths:
        result = project.make("migration-test")
    assert result.returncode != 0
    assert result.errors() == [
        f"error: downgrade of 0c0000000001 ({paths[0].name}) leaves the schema different from "
        "before its upgrade: make downgrade() undo all that upgrade() does"
    ]
    assert "column public.author.nickname is extra (character varying(80) NULL)" in result.stderr


def test_an_upgrade_that_cannot_run_twice_is_named(project: Project) -> None:
    # A publication is not part of the schema snapshot, so only the second upgrade notices it.
    once = revision_text(
        "0d0000000001", FIRST, 'op.execute("CREATE PUBLICATION bookshelf_changes")', "pass"
    )
    with revisions(project, ("0d0000000001", once)) as paths:
        result = project.make("migration-test")
    assert result.returncode != 0
    assert len(result.errors()) == 1, result.output
    assert result.errors()[0].startswith(
        f"error: upgrade of 0d0000000001 ({paths[0].name}) fails a second time (after its "
        'downgrade): DuplicateObjectError: publication "bookshelf_changes" already exists'
    )
    assert "Traceback" not in result.output


def test_a_downgrade_that_fails_is_named(project: Project) -> None:
    broken = NICKNAME.replace(
        'op.drop_column("author", "nickname")', 'op.drop_column("author", "nick")'
    )
    with revisions(project, ("0c0000000001", broken)):
        result = project.make("migration-test")
    assert result.returncode != 0
    assert len(result.errors()) == 1, result.output
    assert result.errors()[0].startswith("error: downgrade of 0c0000000001")
    assert 'column "nick" of relation "author" does not exist' in result.errors()[0]


def test_the_snapshot_sees_what_the_round_trip_compares(migrated_url: URL) -> None:
    taken = run_on(migrated_url, snapshot.take)
    assert taken["column public.author.name"] == "character varying(255) NOT NULL"
    assert taken["constraint public.book.fk_book_author_id_author"] == (
        "FOREIGN KEY (author_id) REFERENCES author(id)"
    )
    assert taken["index public.ix_book_author_id"].startswith("CREATE INDEX ix_book_author_id")
    assert not any("alembic_version" in key for key in taken)
    assert snapshot.differences(taken, {**taken, "column public.author.x": "text NULL"}) == [
        "column public.author.x is extra (text NULL)"
    ]


def test_a_history_with_a_merge_round_trips_and_names_a_leaky_branch(project: Project) -> None:
    # Two branches on FIRST, joined by a merge revision (what `make migration-merge` writes).
    left = revision_text(
        "0e0000000001",
        FIRST,
        'op.add_column("author", sa.Column("nickname", sa.String(80), nullable=True))',
        'op.drop_column("author", "nickname")',
    )
    right = revision_text(
        "0e0000000002",
        FIRST,
        'op.add_column("book", sa.Column("pages", sa.Integer(), nullable=True))',
        'op.drop_column("book", "pages")',
    )
    merge = revision_text("0e0000000003", None, "pass").replace(
        "down_revision = None", 'down_revision = ("0e0000000001", "0e0000000002")'
    )
    texts = [("0e0000000001", left), ("0e0000000002", right), ("0e0000000003", merge)]
    with revisions(project, *texts):
        result = project.make("migration-test")
    assert result.returncode == 0, result.output
    assert "4 revision(s) upgraded one at a time to head" in result.stdout
    # The throwaway runs say nothing of their own: one line, the verdict.
    assert result.stderr == "", result.stderr

    leaky = right.replace('op.drop_column("book", "pages")', "pass")
    with revisions(project, texts[0], ("0e0000000002", leaky), texts[2]) as paths:
        result = project.make("migration-test")
    assert result.errors() == [
        f"error: downgrade of 0e0000000002 ({paths[1].name}) leaves the schema different from "
        "before its upgrade: make downgrade() undo all that upgrade() does"
    ], result.output
