"""One migration run at a time: many runs started together apply each revision exactly once."""

import time

from sqlalchemy.engine import URL

from migration_toolkit.run.locking import MIGRATION_LOCK_KEY
from tests.storage.safety_support import FORBIDDEN, cli, head_of, session, write_revision
from tests.support import pg
from tests.support.project import Project

RUNS = 16


def test_sixteen_runs_at_once_apply_each_revision_exactly_once(project: Project) -> None:
    base = head_of(project)
    # Each revision logs itself; the first holds the lock long enough for the others to queue.
    write_revision(
        project,
        "10c0000000a1",
        base,
        """
        op.execute("CREATE TABLE run_log (revision text NOT NULL, at timestamptz DEFAULT now())")
        op.execute("INSERT INTO run_log (revision) VALUES ('10c0000000a1')")
        op.execute("SELECT pg_sleep(2)")
        """,
        "op.execute('DROP TABLE run_log')",
    )
    write_revision(
        project,
        "10c0000000a2",
        "10c0000000a1",
        "op.execute(\"INSERT INTO run_log (revision) VALUES ('10c0000000a2')\")",
    )
    runs = [cli(project, "upgrade", "head") for _ in range(RUNS)]
    outputs = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=240)
        outputs.append((run.returncode, stdout + stderr))

    failed = [output for code, output in outputs if code != 0]
    assert failed == [], failed[0]
    url = project.database_url
    logged = pg.fetch(url, "SELECT revision FROM run_log ORDER BY at, revision")
    assert [row["revision"] for row in logged] == ["10c0000000a1", "10c0000000a2"]
    assert pg.version(url) == ["10c0000000a2"]
    # One run did the work; the ones that queued said so, then found nothing to do.
    applying = [output for _, output in outputs if "upgraded from" in output]
    assert len(applying) == 1
    waited = [output for _, output in outputs if "waiting for another migration run" in output]
    assert waited, "no run reported waiting for the lock"
    assert all("upgraded from" not in output for output in waited)
    assert all(FORBIDDEN not in output and "FAILED:" not in output for _, output in outputs)


async def test_a_run_waits_a_bounded_time_then_names_the_holder(project: Project) -> None:
    url = project.database_url
    async with session(url) as holder:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        project.env["MIGRATION_WAIT_TIMEOUT"] = "2"
        started = time.monotonic()
        result = project.make("migrate")
        elapsed = time.monotonic() - started
        holder_pid = holder.get_server_pid()
    assert result.returncode != 0
    assert "waiting for another migration run" in result.stderr
    [error] = result.errors()
    assert f"pid {holder_pid}" in error and "MIGRATION_WAIT_TIMEOUT" in error
    assert FORBIDDEN not in result.output
    assert elapsed < 30
    assert pg.version(url) == []
    assert pg.tables(url) == set()


async def test_the_lock_is_released_when_the_run_ends(project: Project) -> None:
    url = project.database_url
    assert project.make("migrate").returncode == 0
    async with session(url) as probe:
        assert await probe.fetchval("SELECT pg_try_advisory_lock($1)", MIGRATION_LOCK_KEY)


def test_terminating_the_lock_holder_stops_its_run_and_nothing_runs_twice(
    project: Project,
) -> None:
    """The lock lives on the session that migrates: ending it ends that run, at once.

    pg_terminate_backend on the lock holder (what the guide suggests for a stuck run), then a
    second run: it takes the lock, and each revision is applied exactly once.
    """
    url = project.database_url
    base = head_of(project)
    write_revision(
        project,
        "10c0000000b1",
        base,
        """
        op.execute("CREATE TABLE kill_log (revision text NOT NULL)")
        op.execute("INSERT INTO kill_log VALUES ('10c0000000b1')")
        op.execute("SELECT pg_sleep(30) FROM sleep_once")
        """,
        "op.execute('DROP TABLE kill_log')",
    )
    write_revision(
        project,
        "10c0000000b2",
        "10c0000000b1",
        "op.execute(\"INSERT INTO kill_log VALUES ('10c0000000b2')\")",
    )
    # The first run sleeps in its revision; the second, once the row is gone, does not.
    assert project.make("migrate", f"rev={base}").returncode == 0
    pg.execute(url, "CREATE TABLE sleep_once AS SELECT 1 AS n")
    first = cli(project, "upgrade", "head")
    holder = _wait_for_lock_holder(url)
    pg.fetch(url, "SELECT pg_terminate_backend($1)", holder)
    first_out, first_err = first.communicate(timeout=60)
    pg.execute(url, "DELETE FROM sleep_once")
    second = cli(project, "upgrade", "head")
    second_out, second_err = second.communicate(timeout=120)

    assert first.returncode != 0
    assert FORBIDDEN not in first_out + first_err
    failed = [line for line in first_out.splitlines() if line.startswith("FAILED:")]
    assert len(failed) == 1 and "the connection to the database ended" in failed[0]
    assert second.returncode == 0, second_out + second_err
    assert "upgraded from" in second_err
    logged = pg.fetch(url, "SELECT revision FROM kill_log ORDER BY revision")
    assert [row["revision"] for row in logged] == ["10c0000000b1", "10c0000000b2"]
    assert pg.version(url) == ["10c0000000b2"]


def _wait_for_lock_holder(url: URL, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = pg.fetch(
            url,
            "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objid = $1 "
            "AND a.query LIKE '%pg_sleep(30)%'",
            MIGRATION_LOCK_KEY,
        )
        if rows:
            return int(rows[0]["pid"])
        time.sleep(0.1)
    raise AssertionError("no run held the migration lock while sleeping")
