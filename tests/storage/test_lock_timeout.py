"""A revision waits a bounded time for its locks: it gives up, retries, then names the blocker."""

import asyncio
import subprocess
import time

from migration_toolkit.settings import RunSettings
from tests.storage.safety_support import FORBIDDEN, head_of, session, write_revision
from tests.support import pg
from tests.support.project import Project

HOLDER_QUERY = "SELECT count(*) FROM author"


async def test_a_long_transaction_on_author_makes_migrate_fail_fast(project: Project) -> None:
    """With the default settings: fails within 30 s, the app is never blocked for long."""
    url = project.database_url
    base = head_of(project)
    assert project.make("migrate").returncode == 0
    write_revision(
        project,
        "b10c00000001",
        base,
        'op.add_column("author", sa.Column("nickname", sa.String(40)))',
        'op.drop_column("author", "nickname")',
        doc="add author nickname",
    )
    lock_timeout = RunSettings().MIGRATION_LOCK_TIMEOUT
    async with session(url) as holder, session(url) as app:
        transaction = holder.transaction()
        await transaction.start()
        await holder.fetchval(HOLDER_QUERY)  # holds ACCESS SHARE on author until it ends
        started = time.monotonic()
        run = subprocess.Popen(
            ["make", "--no-print-directory", "migrate"],
            cwd=project.root,
            env=project.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The app keeps querying author; behind the waiting ALTER, each query queues at most
        # one lock_timeout.
        waits: list[float] = []
        while run.poll() is None and time.monotonic() - started < 60:
            before = time.monotonic()
            await app.fetchval("SELECT count(*) FROM author")
            waits.append(time.monotonic() - before)
            await asyncio.sleep(0.1)
        stdout, stderr = run.communicate(timeout=60)
        elapsed = time.monotonic() - started
        holder_pid = holder.get_server_pid()
        await transaction.rollback()

    assert run.returncode != 0
    assert elapsed < 30, f"took {elapsed:.1f} s"
    assert max(waits) < lock_timeout + 1.5, f"an app query waited {max(waits):.1f} s"
    assert FORBIDDEN not in stdout + stderr
    assert "trying again in 1 s (try 2 of 3)" in stderr
    assert "trying again in 2 s (try 3 of 3)" in stderr
    [error] = [line for line in stdout.splitlines() if line.startswith("FAILED:")]
    assert error.startswith(
        f"FAILED: revision b10c00000001 (add author nickname) could not lock table author "
        f"within {lock_timeout:g} s (3 tries); the database is still at {base}"
    )
    assert f"blocked by: pid {holder_pid} (idle in transaction" in stdout
    assert HOLDER_QUERY in stdout
    assert f"pg_terminate_backend({holder_pid})" in stdout
    assert pg.version(url) == [base]
    assert "nickname" not in pg.columns(url, "author")


async def test_the_revision_goes_through_once_the_lock_is_free(project: Project) -> None:
    """A short holder: the first try times out, a retry after the backoff succeeds."""
    url = project.database_url
    base = head_of(project)
    assert project.make("migrate").returncode == 0
    write_revision(
        project,
        "b10c00000002",
        base,
        'op.add_column("author", sa.Column("nickname", sa.String(40)))',
    )
    project.env["MIGRATION_LOCK_TIMEOUT"] = "1"
    async with session(url) as holder, session(url) as probe:
        transaction = holder.transaction()
        await transaction.start()
        await holder.fetchval(HOLDER_QUERY)
        run = subprocess.Popen(
            ["make", "--no-print-directory", "migrate"],
            cwd=project.root,
            env=project.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Let go once the migration has waited (and timed out) at least once.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and run.poll() is None:
            # Not from the holder: its transaction sees one snapshot of pg_stat_activity.
            waiting = await probe.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND application_name = 'migration-toolkit'"
            )
            if waiting:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # past the 1 s lock_timeout: the first try has given up
        await transaction.rollback()
        stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 0, stdout + stderr
    assert "trying again in 1 s (try 2 of 3)" in stderr
    assert pg.version(url) == ["b10c00000002"]
    assert "nickname" in pg.columns(url, "author")


async def test_each_revision_transaction_runs_with_the_configured_limits(project: Project) -> None:
    url = project.database_url
    base = head_of(project)
    write_revision(
        project,
        "b10c00000003",
        base,
        """
        op.execute(
            "CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lock_timeout, "
            "current_setting('statement_timeout') AS statement_timeout"
        )
        """,
    )
    project.env.update(MIGRATION_LOCK_TIMEOUT="2.5", MIGRATION_STATEMENT_TIMEOUT="90")
    result = project.make("migrate")
    assert result.returncode == 0, result.output
    [row] = pg.fetch(url, "SELECT lock_timeout, statement_timeout FROM seen")
    assert (row["lock_timeout"], row["statement_timeout"]) == ("2500ms", "90s")
