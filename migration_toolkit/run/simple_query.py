"""DDL goes to Postgres as simple queries, one round trip each, the way psql sends it.

SQLAlchemy's asyncpg dialect prepares every statement, then executes it: two round trips per
statement, and after each DDL statement the next prepared statement re-reads types. Over a run
of many revisions those round trips were most of `make migrate`'s time (bench/README.md).

Only public interfaces are used: SQLAlchemy's `do_execute` event, the pool connection's
`driver_connection` and asyncpg's `Connection.execute`, which sends a statement without
arguments as a simple query. The fast path is taken only once the dialect has begun the
revision's transaction (asyncpg's `is_in_transaction()`), so the statement lands in it; the
first statement of each transaction takes the usual path, which begins it. Errors are wrapped
as SQLAlchemy's DBAPIError, as the usual path wraps them.
"""

from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

# Execution option for a statement that takes no parameters and returns no rows.
SIMPLE = "simple_query"


def _do_execute(
    cursor: DBAPICursor, statement: str, parameters: Any, context: DefaultExecutionContext
) -> bool:
    if parameters or context.executemany:
        return False
    if not (context.isddl or context.execution_options.get(SIMPLE)):
        return False
    driver = context.root_connection.connection.driver_connection
    if not isinstance(driver, asyncpg.Connection) or not driver.is_in_transaction():
        return False
    try:
        await_only(driver.execute(statement))
    except asyncpg.PostgresError as error:
        raise DBAPIError(statement, None, error) from error
    return True


def install(engine: AsyncEngine) -> None:
    """Send this engine's DDL (and SIMPLE statements) as simple queries."""
    if engine.dialect.driver == "asyncpg" and not event.contains(
        engine.sync_engine, "do_execute", _do_execute
    ):
        event.listen(engine.sync_engine, "do_execute", _do_execute)
