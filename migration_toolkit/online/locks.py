"""Strong locks taken briefly: a short lock_timeout per attempt, retried, released at once.

An ALTER TABLE waiting for its ACCESS EXCLUSIVE lock queues every later query on the table
behind it, even plain reads: one long app transaction in front of a migration that waits
seconds stalls the whole app for those seconds. So the lock is asked for with a lock_timeout
of a tenth of a second; if it does not come, the attempt is rolled back to a savepoint (the
queue behind it drains), and tried again after a growing pause. Once it is held, the block
runs and the transaction commits right away, so the lock lasts as long as the DDL itself.
"""

import random
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from migration_toolkit.errors import LOCK_NOT_AVAILABLE, causes
from migration_toolkit.online import events
from migration_toolkit.online._sql import offline, quote, scalar

LOCK_TIMEOUT = 0.1  # seconds one attempt may wait for the lock
ATTEMPTS = 30
FIRST_PAUSE = 0.1  # seconds after the first failed attempt; doubles, up to MAX_PAUSE
MAX_PAUSE = 3.0
MODES = {
    "ACCESS SHARE",
    "ROW SHARE",
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
}


class AutocommitError(RuntimeError):
    """short_lock was called inside an autocommit block, where no lock outlives a statement."""


def commit() -> None:
    """Commit what the revision did so far; the revision goes on in a new transaction."""
    with op.get_context().autocommit_block():
        pass


def _is_lock_timeout(error: BaseException) -> bool:
    return any(getattr(link, "sqlstate", None) == LOCK_NOT_AVAILABLE for link in causes(error))


def _lock_statements(locks: Mapping[str, str]) -> list[str]:
    for mode in locks.values():
        if mode.upper() not in MODES:
            raise ValueError(f"unknown lock mode {mode!r}: one of {', '.join(sorted(MODES))}")
    return [f"LOCK TABLE {quote(table)} IN {mode.upper()} MODE" for table, mode in locks.items()]


def _try_once(statements: list[str], timeout: float) -> DBAPIError | None:
    """Take the locks within `timeout` each, in a savepoint: None, or the lock timeout (undone)."""
    connection = op.get_bind()
    savepoint = connection.begin_nested()
    try:
        connection.execute(
            text("SELECT set_config('lock_timeout', :value, true)"),
            {"value": f"{max(1, round(timeout * 1000))}ms"},
        )
        for statement in statements:
            connection.execute(text(statement))
    except DBAPIError as error:
        savepoint.rollback()
        if _is_lock_timeout(error):
            return error
        raise
    savepoint.commit()
    return None


@contextmanager
def short_lock(
    table: str,
    *,
    mode: str = "ACCESS EXCLUSIVE",
    others: Mapping[str, str] | None = None,
    timeout: float = LOCK_TIMEOUT,
    attempts: int = ATTEMPTS,
) -> Iterator[None]:
    """Hold `mode` on table (and each of `others`, table -> mode) for the block, then commit.

    What the revision did before is committed first, so nothing else is held while waiting.
    Each attempt waits at most `timeout` seconds; after `attempts` the last lock timeout is
    raised (the run retries the revision, naming the session in the way). Statements in the
    block find the lock held and never wait for it. Not inside an autocommit block.
    """
    locks = {table: mode, **(others or {})}
    statements = _lock_statements(locks)
    if offline():
        commit()
        yield
        commit()
        return
    connection = op.get_bind()
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        raise AutocommitError("short_lock() needs the revision's transaction, not autocommit")
    commit()
    previous = scalar("SELECT current_setting('lock_timeout')")
    name = ", ".join(f"{mode.upper()} on {table}" for table, mode in locks.items())
    pause = FIRST_PAUSE
    for attempt in range(1, attempts + 1):
        with events.span("lock-wait", name, attempt=attempt) as wait:
            timed_out = _try_once(statements, timeout)
            wait["acquired"] = timed_out is None
        if timed_out is None:
            break
        if attempt == attempts:
            print(
                f"short_lock: no {name} within {timeout:g} s in {attempts} attempts; giving up",
                file=sys.stderr,
                flush=True,
            )
            raise timed_out
        time.sleep(pause * random.uniform(0.5, 1.0))
        pause = min(MAX_PAUSE, pause * 2)
    with events.span("lock", name, attempts=attempt):
        # The block's own waits (other tables) are bounded by the run's lock_timeout again.
        connection.execute(
            text("SELECT set_config('lock_timeout', :value, true)"), {"value": previous}
        )
        yield
        commit()
