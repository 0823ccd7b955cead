"""`make migration-check`: models vs migrations on a throwaway database, heads, registration,
edited revisions. Each case fails naming what differs; the clean tree passes."""

import subprocess
import time
from collections.abc import Callable

import pytest
from sqlalchemy.engine import URL

from tests.storage.checks_support import FIRST, added_file, edited, revision_text, revisions
from tests.support import pg
from tests.support.project import Project, copy_project

AUTHOR = "app/models/author.py"
ID_LINE = "    id: int | None = Field(default=None, primary_key=True)\n"


def throwaway_databases(url: URL) -> set[str]:
    rows = pg.fetch(url, "SELECT datname FROM pg_database WHERE datname LIKE 'migcheck%'")
    return {row["datname"] for row in rows}


def left_behind(url: URL, before: set[str], wait: float = 30) -> set[str]:
    """Throwaway databases that appeared since `before` and stay.

    Checks run by other test workers on the same server come and go meanwhile: a database
    counts only if it is still there after `wait` seconds of looking for a moment without it.
    """
    deadline = time.monotonic() + wait
    while (extra := throwaway_databases(url) - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    return extra


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, new_database: Callable[[], URL]) -> Project:
    return Project(
        root=copy_project(tmp_path_factory.mktemp("drift") / "project"),
        database_url=new_database(),
    )


def test_a_clean_tree_passes_without_touching_the_developer_database(project: Project) -> None:
    before = throwaway_databases(project.database_url)
    result = project.make("migration-check")
    assert result.returncode == 0, result.output
    assert "models and migrations agree" in result.stdout
    # The comparison ran elsewhere: the developer's database is still empty...
    assert pg.tables(project.database_url) == set()
    # ...and the throwaway database is gone again.
    assert left_behind(project.database_url, before) == set()


def test_a_model_edit_without_a_revision_is_named(project: Project) -> None:
    nickname = "    nickname: str | None = Field(default=None, max_length=80)\n"
    with edited(project, AUTHOR, ID_LINE, ID_LINE + nickname):
        result = project.make("migration-check")
    assert result.returncode != 0
    assert "column author.nickname: in the models, not in the migrations" in result.stderr
    assert len(result.errors()) == 1, result.output
    assert "the models and the migrations differ (1 difference above)" in result.errors()[0]
    assert "Traceback" not in result.output


def test_a_table_no_model_declares_is_named(project: Project) -> None:
    orphan = revision_text(
        "0a0000000001",
        FIRST,
        'op.create_table("orphan", sa.Column("id", sa.Integer(), primary_key=True))',
        'op.drop_table("orphan")',
    )
    with revisions(project, ("0a0000000001", orphan)):
        result = project.make("migration-check")
    assert result.returncode != 0
    assert "table orphan: created by the migrations, no model declares it" in result.stderr


def test_two_heads_and_unregistered_models_are_all_listed(project: Project) -> None:
    heads = [
        ("0b0000000001", revision_text("0b0000000001", FIRST, "pass")),
        ("0b0000000002", revision_text("0b0000000002", FIRST, "pass")),
    ]
    own_metadata = (
        "import sqlalchemy as sa\n\n"
        "legacy = sa.Table(\n"
        '    "legacy", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True)\n'
        ")\n"
    )
    nested = (
        "from sqlmodel import Field, SQLModel\n\n\n"
        "class Tag(SQLModel, table=True):\n"
        "    id: int | None = Field(default=None, primary_key=True)\n"
    )
    with (
        revisions(project, *heads),
        added_file(project, "app/models/legacy.py", own_metadata),
        added_file(project, "app/models/extra/__init__.py", ""),
        added_file(project, "app/models/extra/tag.py", nested),
    ):
        result = project.make("migration-check")
    assert result.returncode != 0
    assert result.errors() == ["error: migration-check found 4 problems, listed above"]
    assert (
        "- versions/ has 2 heads (0b0000000001 (hand written), 0b0000000002 (hand written))"
        in result.stderr
    )
    # The two new heads are not in the committed snapshot either: its diff shows them.
    assert "+-- Heads: 0b0000000001, 0b0000000002" in result.stderr
    assert "- app/storage/schema.sql is out of date (diff above)" in result.stderr
    assert "make migration-merge" in result.stderr
    assert "table 'legacy' in app.models.legacy is on a MetaData of its own" in result.stderr
    # A subpackage's module is imported with the others: no revision creates its table yet.
    assert "not reached" not in result.stderr
    assert "table tag: in the models, not in the migrations" in result.stderr


def test_an_applied_revision_edited_since_is_named(project: Project) -> None:
    assert project.make("migrate").returncode == 0
    path = next(p for p in project.versions() if FIRST in p.name)
    relative = str(path.relative_to(project.root))
    try:
        with edited(project, relative, "def upgrade() -> None:", "def upgrade() -> None:  # hm"):
            result = project.make("migration-check")
        assert result.returncode != 0
        assert len(result.errors()) == 1, result.output
        assert f"applied revision {FIRST} was edited since it was applied" in result.errors()[0]
    finally:
        assert project.make("rollback", "rev=base").returncode == 0


def test_a_merged_revision_changed_on_the_branch_is_named(project: Project) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=project.root,
            check=True,
            capture_output=True,
        )

    git("init", "--quiet")
    git("add", ".")
    git("commit", "--quiet", "-m", "main")
    path = next(p for p in project.versions() if FIRST in p.name)
    relative = str(path.relative_to(project.root))
    with edited(project, relative, "def upgrade() -> None:", "def upgrade() -> None:  # hm"):
        result = project.make("migration-check", "base=HEAD")
    assert result.returncode != 0
    assert result.errors() == [
        f"error: {relative} was edited but HEAD has it already (applied revisions do not "
        "change): restore it and put the change in a new revision (`make migration msg=...`)"
    ]
