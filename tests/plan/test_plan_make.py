"""`make migration-plan` in a scratch copy, on a database whose tables have rows: the table,
the Markdown file, the exit code CI gates on, and that it only reads."""

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from migration_toolkit.plan.copy import client, libpq_env
from tests.plan.support import FIRST
from tests.storage.checks_support import revision_text, revisions
from tests.support import pg
from tests.support.dump import dump_fingerprint
from tests.support.project import Project, copy_project

# Each drives the real make in a scratch copy of the project.
pytestmark = pytest.mark.e2e

INDEX = revision_text(
    "c10000000001",
    FIRST,
    """
    op.add_column("book", sa.Column("subtitle", sa.String(100), nullable=True))
    op.create_index("ix_book_title", "book", ["title"])
    """,
    """
    op.drop_index("ix_book_title", table_name="book")
    op.drop_column("book", "subtitle")
    """,
    message="subtitle and title index",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, library: URL) -> Iterator[Project]:
    root = copy_project(tmp_path_factory.mktemp("plan") / "project")
    scratch = Project(root=root, database_url=library)
    with revisions(scratch, ("c10000000001", INDEX)):
        yield scratch


def fingerprint(url: URL) -> str:
    return dump_fingerprint(url, client("pg_dump"), libpq_env(url))


def test_the_plan_names_locks_work_and_gates_on_the_threshold(project: Project) -> None:
    before = fingerprint(project.database_url)
    out = project.root / "plan.md"
    result = project.make("migration-plan", "threshold=0.001", "out=plan.md", "traffic=0")
    assert result.returncode != 0, result.output
    assert result.errors() == [
        "error: 2 statement(s) would block writes longer than 1 ms, fail, or cannot be "
        "classified ([1], [2] above): change them as the plan says, or raise threshold= if the "
        "blocking is acceptable"
    ]
    assert "is at 8ef2faae17b8: 1 pending revision(s), 2 statement(s)" in result.stdout
    assert "a " in result.stdout and "probe on this server" in result.stdout
    markdown = out.read_text()
    assert markdown.startswith("### Migration plan")
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in markdown.splitlines()
        if line.startswith("|")
    ]
    add_column, index = rows[2], rows[3]
    assert add_column[3:5] == ["book: ACCESS EXCLUSIVE (blocks reads and writes)", "catalog only"]
    assert index[3] == "book: SHARE (blocks writes)"
    assert index[4].startswith("index build, 50k rows")
    assert index[-1] == "BLOCKS [2]"
    # Catalog only, but its ACCESS EXCLUSIVE stays held while the index builds after it.
    assert add_column[-1] == "BLOCKS [1]"
    assert "held until the transaction commits" in markdown
    assert 'instead: online.create_index_concurrently("ix_book_title", "book", ["title"])' in (
        markdown
    )
    assert fingerprint(project.database_url) == before


def test_under_the_threshold_it_passes(project: Project) -> None:
    result = project.make("migration-plan", "threshold=600", "traffic=0")
    assert result.returncode == 0, result.output
    assert result.errors() == []


def test_traffic_is_sampled_from_pg_stat_user_tables(project: Project) -> None:
    result = project.make("migration-plan", "threshold=600", "traffic=0.5")
    assert result.returncode == 0, result.output
    assert "0 w/s, 0 r/s" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("threshold=abc", "error: threshold=abc is not a number of seconds, e.g. threshold=1"),
        ("threshold=0", "error: threshold=0 must be a number of seconds > 0"),
        ("traffic=-1", "error: traffic=-1 must be seconds >= 0 (0: skip)"),
    ],
)
def test_bad_options_are_one_line(project: Project, args: str, message: str) -> None:
    result = project.make("migration-plan", args)
    assert result.returncode != 0
    assert result.errors() == [message]
    assert "Traceback" not in result.output


def test_nothing_pending_is_said_plainly(tmp_path: Path, new_database: Callable[[], URL]) -> None:
    project = Project(root=copy_project(tmp_path / "project"), database_url=new_database())
    assert project.make("migrate").returncode == 0
    result = project.make("migration-plan", "traffic=0")
    assert result.returncode == 0, result.output
    assert "nothing to do: no pending revision runs a statement" in result.stdout


def test_a_role_that_only_reads_the_catalogs_can_plan(project: Project, library: URL) -> None:
    role, password = f"planner_{secrets.token_hex(4)}", secrets.token_hex(8)
    pg.execute(
        library,
        f"CREATE ROLE {role} LOGIN PASSWORD '{password}'",
        f"GRANT SELECT ON alembic_version TO {role}",
    )
    try:
        reader = Project(
            root=project.root,
            database_url=library.set(username=role, password=password),
        )
        result = reader.make("migration-plan", "threshold=600", "traffic=0")
        assert result.returncode == 0, result.output
        assert "index build, 50k rows" in result.stdout
        pg.execute(library, f"REVOKE SELECT ON alembic_version FROM {role}")
        refused = reader.make("migration-plan", "traffic=0")
        assert refused.returncode != 0
        assert refused.errors() == [
            f"error: user {role!r} may not read alembic_version: the plan needs only that and "
            f"the catalogs (GRANT SELECT ON alembic_version TO {role})"
        ]
    finally:
        pg.execute(library, f"DROP OWNED BY {role}", f"DROP ROLE {role}")
