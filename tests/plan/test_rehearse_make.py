"""`make migration-rehearse`: the pending revisions on a copy of a database with real rows,
measured, downgraded and upgraded again; the source is left exactly as it was."""

import subprocess
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import URL

from migration_toolkit.plan.copy import SUFFIX, client, libpq_env
from tests.plan.support import FIRST
from tests.storage.checks_support import revision_text, revisions
from tests.support import pg
from tests.support.dump import dump_fingerprint
from tests.support.project import Project, copy_project

# Each drives the real make in a scratch copy of the project.
pytestmark = pytest.mark.e2e

ONLINE = revision_text(
    "d10000000001",
    FIRST,
    """
    from migration_toolkit import online

    op.add_column("book", sa.Column("subtitle", sa.String(100), nullable=True))
    online.create_index_concurrently("ix_book_title", "book", ["title"])
    op.alter_column("book", "title", type_=sa.String(400))
    """,
    """
    from migration_toolkit import online

    op.alter_column("book", "title", type_=sa.String(20))
    online.drop_index_concurrently("ix_book_title", "book")
    op.drop_column("book", "subtitle")
    """,
    message="online index and a wider title",
)
PLAIN_INDEX = revision_text(
    "d20000000001",
    FIRST,
    'op.create_index("ix_book_title", "book", ["title"])',
    'op.drop_index("ix_book_title", table_name="book")',
    message="plain index",
)


def fingerprint(url: URL) -> str:
    return dump_fingerprint(url, client("pg_dump"), libpq_env(url))


def copies(url: URL) -> list[str]:
    rows = pg.fetch(url, "SELECT datname FROM pg_database WHERE datname LIKE $1", f"%{SUFFIX}%")
    return [row["datname"] for row in rows]


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory, library: URL) -> Iterator[Project]:
    root = copy_project(tmp_path_factory.mktemp("rehearse") / "project")
    yield Project(root=root, database_url=library)


def cells(markdown: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in markdown.splitlines()
        if line.startswith("|")
    ]


def test_a_narrowing_downgrade_fails_on_real_rows_and_the_source_is_unchanged(
    project: Project, library: URL
) -> None:
    before = fingerprint(library)
    with revisions(project, ("d10000000001", ONLINE)):
        result = project.make("migration-rehearse", "out=rehearsal.md", "traffic=0", timeout=300)
    assert result.returncode != 0, result.output
    assert result.errors() == ["error: 1 revision(s) failed on the copy: see the report above"]
    assert "rehearsing on a template clone" in result.stderr
    markdown = (project.root / "rehearsal.md").read_text()
    table = cells(markdown)
    header = table[0]
    assert header[-4:] == ["took", "locks seen", "blocked writes", "verdict"]
    add, index, widen = (dict(zip(header, row, strict=True)) for row in table[2:5])
    assert index["statement"].startswith("CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_book_title")
    assert index["locks seen"] == "book: SHARE UPDATE EXCLUSIVE"
    assert index["blocked writes"] == "none"
    assert add["statement"] == "ALTER TABLE book ADD COLUMN subtitle VARCHAR(100)"
    assert add["locks"] == "book: ACCESS EXCLUSIVE (blocks reads and writes)"
    assert add["locks seen"] == "book: ACCESS EXCLUSIVE"
    assert widen["does"] == "catalog only"
    assert widen["locks seen"] == "book: ACCESS EXCLUSIVE"
    revisions_table = table[-1]
    assert revisions_table[0] == "d10000000001"
    assert revisions_table[1].startswith("ok, ")
    assert revisions_table[2] == (
        "FAILED: StringDataRightTruncationError: value too long for type character varying(20)"
    )
    assert revisions_table[3] == "not run"
    assert fingerprint(library) == before
    assert copies(library) == []


def test_a_plain_index_is_measured_blocking_writes(project: Project, library: URL) -> None:
    with revisions(project, ("d20000000001", PLAIN_INDEX)):
        result = project.make(
            "migration-rehearse", "threshold=600", "out=r.md", "traffic=0", timeout=300
        )
    assert result.returncode == 0, result.output
    row = dict(zip(*cells((project.root / "r.md").read_text())[0:3:2], strict=True))
    assert row["locks seen"] == "book: SHARE"
    assert row["blocked writes"].startswith("book ")
    # How close the estimate comes is a timing: bench/plan.py measures it on a million rows.
    assert "FAILED" not in result.stdout
    stored = project.root / ".local" / "plan-rates.json"
    assert stored.exists()
    with revisions(project, ("d20000000001", PLAIN_INDEX)):
        planned = project.make("migration-plan", "threshold=600", "traffic=0")
    assert "durations from the rehearsal of" in planned.stdout
    assert copies(library) == []


def test_with_other_sessions_or_a_row_cap_it_copies_with_pg_dump(
    project: Project, library: URL
) -> None:
    before = fingerprint(library)
    with revisions(project, ("d20000000001", PLAIN_INDEX)):
        capped = project.make(
            "migration-rehearse",
            "threshold=600",
            "max-rows=100",
            "out=c.md",
            "traffic=0",
            timeout=300,
        )
    assert capped.returncode == 0, capped.output
    assert "rehearsing on pg_dump | psql, <= 100 rows per table" in capped.stderr
    # 100 authors and 100 books copied; the book of author 101 is dropped with its reference.
    assert "index build, 99 rows" in (project.root / "c.md").read_text()
    # Another session on the source: CREATE DATABASE ... TEMPLATE refuses to copy it.
    other = subprocess.Popen(
        [client("psql"), "-X", "-q", "-c", "SELECT pg_sleep(120)"],
        env=libpq_env(library),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not pg.fetch(
            library,
            "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'SELECT pg_sleep%'",
            library.database,
        ):
            time.sleep(0.1)
        with revisions(project, ("d20000000001", PLAIN_INDEX)):
            busy = project.make("migration-rehearse", "threshold=600", "traffic=0", timeout=300)
    finally:
        other.kill()
        other.wait()
    assert busy.returncode == 0, busy.output
    assert "the source has other sessions: copying it with pg_dump | psql" in busy.stderr
    assert "rehearsing on pg_dump | psql:" in busy.stderr
    assert fingerprint(library) == before
    assert copies(library) == []


def test_a_bad_row_cap_is_one_line(project: Project) -> None:
    result = project.make("migration-rehearse", "max-rows=lots")
    assert result.returncode != 0
    assert result.errors() == ["error: max-rows=lots must be a whole number of rows >= 1"]
