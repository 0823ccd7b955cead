"""Turn database and connection failures into one line a person can act on.

Messages name host:port/database and the user, never the password.
"""

import socket
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from migration_toolkit.urls import describe, is_local

# SQLSTATEs a failed revision is explained by.
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"


class UserFacingError(Exception):
    """An error whose message is the whole story: printed as one line, no traceback."""


def causes(exc: BaseException) -> list[BaseException]:
    """The exception and what caused it, outermost first, through SQLAlchemy's wrappers."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        if isinstance(current, DBAPIError) and isinstance(current.orig, BaseException):
            inner = current.orig
            # SQLAlchemy's asyncpg adapter keeps asyncpg's own error as the cause.
            current = inner.__cause__ if inner.__cause__ is not None else inner
        else:
            current = current.__cause__
    return chain


def root_cause(exc: BaseException) -> BaseException:
    return causes(exc)[-1]


def is_lock_timeout(exc: BaseException) -> bool:
    return getattr(root_cause(exc), "sqlstate", None) == LOCK_NOT_AVAILABLE


def _connection_cause(exc: BaseException) -> BaseException:
    """The first link of the chain that says why connecting failed (a timeout ends in a
    CancelledError, which says nothing)."""
    for link in causes(exc):
        if isinstance(link, asyncpg.PostgresError | OSError):
            return link
    return root_cause(exc)


def explain_connection_error(exc: BaseException, url: URL) -> str | None:
    """One line for a failure to reach or log in to the server; None if it is not one."""
    cause = _connection_cause(exc)
    where = describe(url)
    hint = " (run `make start` to bring up the local Postgres)" if is_local(url) else ""
    if isinstance(cause, asyncpg.InvalidPasswordError):
        return (
            f"password authentication failed for user {url.username!r} at {where}: "
            "check DB_PASSWORD or the password in DATABASE_URL"
        )
    if isinstance(cause, asyncpg.InvalidCatalogNameError):
        return (
            f"database {url.database!r} does not exist at {where}: "
            "create it, or fix DB_NAME / the database in DATABASE_URL"
        )
    if isinstance(cause, asyncpg.InvalidAuthorizationSpecificationError):
        return f"Postgres at {where} refused user {url.username!r}: check DB_USER and pg_hba.conf"
    if isinstance(cause, socket.gaierror):
        return f"cannot resolve host {url.host!r} for {where}: check DB_HOST or DATABASE_URL"
    if isinstance(cause, ConnectionRefusedError | TimeoutError) or (
        isinstance(cause, OSError) and cause.errno is not None
    ):
        return f"cannot reach Postgres at {url.host}:{url.port or 5432}{hint}"
    if isinstance(
        cause, asyncpg.DuplicatePreparedStatementError | asyncpg.InvalidSQLStatementNameError
    ):
        return (
            f"{where} answers through a transaction-pooling connection pooler (such as "
            "PgBouncer), where prepared statements and session locks break: point "
            "MIGRATION_DATABASE_URL at Postgres itself"
        )
    if isinstance(cause, ConnectionError) and "ssl" in str(cause).lower():
        return (
            f"Postgres at {where} refused an SSL connection ({cause}): the URL asks for SSL "
            "(sslmode=require); enable SSL on the server, or set sslmode=prefer or disable"
        )
    if isinstance(cause, ConnectionError):
        return f"cannot connect to Postgres at {where}: {cause}"
    if isinstance(cause, asyncpg.CannotConnectNowError | asyncpg.TooManyConnectionsError):
        return f"Postgres at {where} is not accepting connections now ({cause}); try again shortly"
    return None


def _database_error_lines(cause: BaseException) -> list[str]:
    """Postgres's own words (message, detail, hint), or the Python error a revision raised."""
    if isinstance(cause, asyncpg.PostgresError):
        lines = [f"database:  {cause.message} [{cause.sqlstate}]"]
        if cause.detail:
            lines.append(f"detail:    {cause.detail}")
        if cause.hint:
            lines.append(f"hint:      {cause.hint}")
        return lines
    return [f"python:    {type(cause).__name__}: {cause}"]


@dataclass(frozen=True)
class Blocker:
    """The session that held the lock a revision waited for, as pg_locks told it."""

    pid: int
    relation: str | None
    state: str | None
    seconds: float | None
    query: str | None


class RevisionFailed(UserFacingError):
    """A revision failed and its transaction was rolled back: one block naming the revision."""

    def __init__(
        self,
        *,
        revision: str,
        doc: str | None,
        path: str | None,
        at: tuple[str, ...],
        error: BaseException,
        lock_timeout: float,
        tries: int = 1,
        upgrading: bool = True,
    ) -> None:
        super().__init__(revision)
        self.revision, self.doc, self.path, self.at = revision, doc, path, at
        self.upgrading = upgrading
        self.error, self.lock_timeout, self.tries = error, lock_timeout, tries
        self.cause = root_cause(error)
        self.blocker: Blocker | None = None

    @property
    def sqlstate(self) -> str | None:
        return getattr(self.cause, "sqlstate", None)

    @property
    def is_lock_timeout(self) -> bool:
        return self.sqlstate == LOCK_NOT_AVAILABLE

    @property
    def lost_connection(self) -> bool:
        """The session ended under the revision (terminated, server restart, network)."""
        return isinstance(
            self.cause,
            asyncpg.ConnectionDoesNotExistError
            | asyncpg.AdminShutdownError
            | asyncpg.CrashShutdownError
            | ConnectionError,
        ) or self.sqlstate in {"57P01", "57P02", "57P03", "08006", "08003"}

    @property
    def again(self) -> str:
        return "`make migrate`" if self.upgrading else "`make rollback`"

    def __str__(self) -> str:
        name = f"revision {self.revision}" + (f" ({self.doc})" if self.doc else "")
        still = f"the database is still at {', '.join(self.at) or 'base'}"
        details: list[str] = []
        if self.path:
            details.append(f"file:      {self.path}")
        blocker = self.blocker
        if self.is_lock_timeout:
            table = f"table {blocker.relation}" if blocker and blocker.relation else "a table"
            head = (
                f"{name} could not lock {table} within {self.lock_timeout:g} s "
                f"({self.tries} {'try' if self.tries == 1 else 'tries'}); {still}"
            )
            if blocker is not None:
                held = f" for {blocker.seconds:.0f} s" if blocker.seconds is not None else ""
                details.append(
                    f"blocked by: pid {blocker.pid} ({blocker.state or 'unknown state'}{held}), "
                    f"running: {_one_line(blocker.query) or '(not visible to this user)'}"
                )
                advice = (
                    f"let that transaction finish, or end it with "
                    f"SELECT pg_terminate_backend({blocker.pid}); then run {self.again} again"
                )
            else:
                advice = f"find the blocking session in pg_stat_activity; then run {self.again}"
            details.append(advice + " (MIGRATION_LOCK_TIMEOUT sets the wait)")
        elif self.lost_connection:
            head = (
                f"{name} was cut off: the connection to the database ended "
                f"({type(self.cause).__name__}); its transaction was rolled back, {still}"
            )
            details.append(
                "the server restarted or the session was terminated: nothing is wrong with the "
                f"revision; when the server answers again, run {self.again} again"
            )
        else:
            head = f"{name} failed and was rolled back; {still}"
            details.extend(_database_error_lines(self.cause))
            if self.sqlstate == QUERY_CANCELED:
                details.append("a statement ran past MIGRATION_STATEMENT_TIMEOUT")
            statement = getattr(self.error, "statement", None)
            if statement:
                details.append(f"statement: {_one_line(statement)}")
            if self.upgrading:
                details.append("fix the revision, then run `make migrate` again")
            else:
                details.append(
                    "its downgrade() cannot run on this database as it is: fix downgrade() "
                    "(or the rows it trips on), then run `make rollback` again"
                )
        return "\n".join([head, *("  " + line for line in details)])


def _one_line(text: str | None, limit: int = 300) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
