"""Rest a long-running helper while the database is struggling: replicas behind, app waiting.

Checked before each backfill batch, from the migrating connection: the longest replay lag of
the streaming replicas (pg_stat_replication, on the primary) and the longest lock wait of any
other session (pg_locks.waitstart, Postgres 14+). While either is over its bound the helper
waits, saying so once in a while, and goes on when both are back under.
"""

import sys
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from migration_toolkit.online import events

POLL = 0.5  # seconds between checks while resting
SAY_EVERY = 10.0  # seconds between "resting" lines

_STATE = text(
    "SELECT (SELECT coalesce(max(extract(epoch FROM replay_lag)), 0) "
    "FROM pg_stat_replication)::float8 AS lag, "
    "(SELECT coalesce(max(extract(epoch FROM clock_timestamp() - waitstart)), 0) "
    "FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid())::float8 AS lock_wait"
)


@dataclass(frozen=True)
class Guard:
    """Bounds, in seconds; None leaves that one unchecked."""

    max_replication_lag: float | None = None
    max_lock_wait: float | None = None

    def reason(self, connection: Connection) -> str | None:
        """Why to rest now, or None."""
        if self.max_replication_lag is None and self.max_lock_wait is None:
            return None
        lag, lock_wait = connection.execute(_STATE).one()
        if self.max_replication_lag is not None and lag > self.max_replication_lag:
            return f"replication lag {lag:.1f} s > {self.max_replication_lag:g} s"
        if self.max_lock_wait is not None and lock_wait > self.max_lock_wait:
            return f"a session has waited {lock_wait:.1f} s for a lock > {self.max_lock_wait:g} s"
        return None

    def wait_until_clear(self, connection: Connection) -> None:
        reason = self.reason(connection)
        if reason is None:
            return
        said = 0.0
        with events.span("guard", reason):
            while reason is not None:
                if time.monotonic() - said >= SAY_EVERY:
                    said = time.monotonic()
                    print(f"resting: {reason}", file=sys.stderr, flush=True)
                time.sleep(POLL)
                reason = self.reason(connection)
