"""One migration run at a time per database: a session-level advisory lock.

Replicas and CI jobs that start `make migrate` together queue here; each waits (bounded by
MIGRATION_WAIT_TIMEOUT, saying so), then finds the database at head and does nothing. The
lock is taken on the session that runs the revisions: a session-level lock outlives each
revision's COMMIT or ROLLBACK, and if that session is terminated the run cannot go on either,
so two runs can never both believe they hold it.
"""

import sys
import time

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from migration_toolkit.errors import UserFacingError, is_lock_timeout

# Any fixed bigint works: advisory locks are per database. Below 2**31 so that pg_locks
# shows it whole in objid (classid 0).
MIGRATION_LOCK_KEY = 1_296_648_018
# How often a waiting run says it is still waiting.
REPORT_EVERY = 10.0

# The lock is tried only on a session that is the one the handshake named: behind a pooler
# (PgBouncer hands out a made-up pid) the lock would stay with a pooled server connection.
_TRY = text(
    "SELECT pg_backend_pid() AS pid, "
    "CASE WHEN pg_backend_pid() = :pid THEN pg_try_advisory_lock(:key) END AS locked"
)
_WAIT = text("SELECT pg_advisory_lock(:key)")
_SET_WAIT = text(
    "SELECT set_config('lock_timeout', :ms, false), set_config('statement_timeout', '0', false)"
)
_HOLDER = text(
    "SELECT a.pid, a.application_name, a.state, "
    "extract(epoch FROM now() - a.backend_start)::float8 AS seconds "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :key "
    "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database "
    "WHERE datname = current_database())"
)


class BehindPooler(UserFacingError):
    """The migrations' URL reaches Postgres through a connection pooler."""


class LockWaitTimeout(UserFacingError):
    """Another migration run held the lock for longer than MIGRATION_WAIT_TIMEOUT."""


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _holder(connection: AsyncConnection) -> str:
    row = (await connection.execute(_HOLDER, {"key": MIGRATION_LOCK_KEY})).first()
    if row is None:
        return "another session"
    name = f" {row.application_name}" if row.application_name else ""
    return f"pid {row.pid}{name} (connected {row.seconds:.0f} s ago, {row.state or 'unknown'})"


async def acquire(connection: AsyncConnection, *, wait_timeout: float, where: str) -> None:
    """Take the lock, waiting at most wait_timeout seconds and saying so while waiting."""
    raw = await connection.get_raw_connection()
    pid = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
    row = (await connection.execute(_TRY, {"key": MIGRATION_LOCK_KEY, "pid": pid})).one()
    await connection.commit()
    if row.pid != pid:
        raise BehindPooler(
            f"the migrations connect to {where} through a connection pooler (such as "
            "PgBouncer): a session advisory lock cannot hold in a transaction pool, so runs "
            "could overlap; point MIGRATION_DATABASE_URL at Postgres itself (nothing was run)"
        )
    if row.locked:
        return
    say(
        f"waiting for another migration run on {where} to finish "
        f"(up to {wait_timeout:g} s, MIGRATION_WAIT_TIMEOUT)..."
    )
    started = time.monotonic()
    while True:
        remaining = wait_timeout - (time.monotonic() - started)
        if remaining <= 0:
            holder = await _holder(connection)
            raise LockWaitTimeout(
                f"another migration run on {where} held the migration lock for over "
                f"{wait_timeout:g} s ({holder}): let it finish and run this again, or raise "
                "MIGRATION_WAIT_TIMEOUT"
            )
        # pg_advisory_lock wakes the moment the holder lets go; lock_timeout bounds each wait.
        chunk = min(remaining, REPORT_EVERY)
        await connection.execute(_SET_WAIT, {"ms": f"{max(1, int(chunk * 1000))}ms"})
        try:
            await connection.execute(_WAIT, {"key": MIGRATION_LOCK_KEY})
            await connection.commit()
            return
        except DBAPIError as exc:
            await connection.rollback()
            if not is_lock_timeout(exc):
                raise
        waited = time.monotonic() - started
        if waited < wait_timeout:
            say(f"still waiting for another migration run ({waited:.0f} s)...")
