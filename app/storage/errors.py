"""Turn database and connection failures into one line a person can act on.

Messages name host:port/database and the user, never the password.
"""

import socket

import asyncpg
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from app.settings import describe, is_local


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
    if isinstance(cause, asyncpg.CannotConnectNowError | asyncpg.TooManyConnectionsError):
        return f"Postgres at {where} is not accepting connections now ({cause}); try again shortly"
    return None
