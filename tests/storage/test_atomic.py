"""Each revision is all or nothing: a failure or a SIGKILL leaves the revision before it."""

import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest
from sqlalchemy.engine import URL

from tests.storage.safety_support import FORBIDDEN, head_of, write_revision
from tests.support import pg
from tests.support.project import Project


def test_a_failing_revision_leaves_the_previous_one_and_says_why(project: Project) -> None:
    url = project.database_url
    base = head_of(project)
    assert project.make("migrate").returncode == 0
    path = write_revision(
        project,
        "a70000000001",
        base,
        """
        op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
        op.add_column("author", sa.Column("nickname", sa.String(40)))
        op.execute("ALTER TABLE author DROP COLUMN no_such_column")
        """,
        doc="add nicknames",
    )
    result = project.make("migrate")

    assert result.returncode != 0
    assert FORBIDDEN not in result.output
    assert len(result.errors()) == 1
    block = result.stdout[result.stdout.index("FAILED:") :]
    assert block.startswith(
        f"FAILED: revision a70000000001 (add nicknames) failed and was rolled back; "
        f"the database is still at {base}"
    )
    assert path.name in block
    assert 'column "no_such_column" of relation "author" does not exist [42703]' in block
    assert "ALTER TABLE author DROP COLUMN no_such_column" in block
    # None of its work: not the table, not the column, not the version.
    assert pg.version(url) == [base]
    assert "half_done" not in pg.tables(url)
    assert "nickname" not in pg.columns(url, "author")


def test_a_python_error_in_a_revision_is_named_too(project: Project) -> None:
    base = head_of(project)
    write_revision(project, "a70000000002", base, "raise ValueError('backfill source missing')")
    result = project.make("migrate")
    assert result.returncode != 0 and FORBIDDEN not in result.output
    [error] = result.errors()
    assert error.startswith("FAILED: revision a70000000002")
    assert "ValueError: backfill source missing" in result.output
    # The revision before it committed on its own (one transaction per revision).
    assert pg.version(project.database_url) == [base]


def test_sigkill_in_the_middle_of_a_revision_leaves_the_previous_one(project: Project) -> None:
    url = project.database_url
    base = head_of(project)
    assert project.make("migrate").returncode == 0
    write_revision(
        project,
        "a70000000003",
        base,
        """
        op.create_table("never_committed", sa.Column("id", sa.Integer, primary_key=True))
        op.execute("SELECT pg_sleep(60)")
        """,
    )
    run = subprocess.Popen(
        ["make", "--no-print-directory", "migrate"],
        cwd=project.root,
        env=project.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(lambda: _sleeping_backends(url) > 0, what="the revision to reach pg_sleep")
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
    # Postgres notices the vanished client (client_connection_check_interval) and rolls back,
    # instead of holding the revision's locks until the 60 s statement ends.
    _wait_for(lambda: _sleeping_backends(url) == 0, what="the killed run's transaction to end")
    assert pg.version(url) == [base]
    assert "never_committed" not in pg.tables(url)
    locks = pg.fetch(
        url,
        "SELECT count(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE d.datname = current_database() AND l.pid <> pg_backend_pid()",
    )
    assert locks[0]["n"] == 0


def test_an_autocommit_block_runs_outside_the_revision_transaction(project: Project) -> None:
    url = project.database_url
    base = head_of(project)
    write_revision(
        project,
        "a70000000004",
        base,
        """
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_author_name", "author", ["name"], postgresql_concurrently=True
            )
        """,
        """
        with op.get_context().autocommit_block():
            op.drop_index("ix_author_name", table_name="author", postgresql_concurrently=True)
        """,
    )
    result = project.make("migrate")
    assert result.returncode == 0, result.output
    valid = pg.fetch(
        url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_author_name'::regclass"
    )
    assert valid[0]["indisvalid"] is True
    assert pg.version(url) == ["a70000000004"]
    recorded = pg.fetch(url, "SELECT revision FROM alembic_checksum ORDER BY revision")
    assert "a70000000004" in [row["revision"] for row in recorded]


def _sleeping_backends(url: URL) -> int:
    rows = pg.fetch(
        url,
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
        "AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
    )
    return int(rows[0]["n"])


def _wait_for(condition: Callable[[], bool], *, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("raised", ["SystemExit(0)", "KeyboardInterrupt()"])
def test_a_revision_that_exits_is_a_failure(project: Project, raised: str) -> None:
    """sys.exit(0) or Ctrl-C inside a revision: non-zero exit, the database where it was."""
    url = project.database_url
    base = head_of(project)
    assert project.make("migrate").returncode == 0
    write_revision(
        project,
        "a70000000005",
        base,
        f"""
        op.create_table("exits_midway", sa.Column("id", sa.Integer, primary_key=True))
        raise {raised}
        """,
    )
    result = project.make("migrate")
    assert result.returncode != 0, result.output
    assert FORBIDDEN not in result.output
    [error] = result.errors()
    assert error.startswith("FAILED: revision a70000000005")
    assert raised.split("(")[0] in result.output
    assert pg.version(url) == [base]
    assert "exits_midway" not in pg.tables(url)
