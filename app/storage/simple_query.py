"""Statements without parameters or rows go to Postgres as simple queries: one round trip.

SQLAlchemy's asyncpg dialect prepares every statement, then executes it: two round trips, and
after each DDL statement it drops asyncpg's type cache, so the next prepared statement also
re-reads types. psql sends a migration's DDL as simple queries. Over a run of many revisions
those round trips were most of `make migrate`'s time (bench/README.md), so the migration
engine sends DDL, DML without RETURNING (Alembic's alembic_version updates) and statements
marked with the SIMPLE execution option (the checksum ledger) the way psql does. The SQL text,
the session, the transaction and the errors (translated by the dialect as usual) are the same.
"""

import re
from collections import deque
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

# Execution option for a statement that takes no parameters and returns no rows.
SIMPLE = "simple_query"
_ROWCOUNT = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)")
# The parts of SQLAlchemy's asyncpg cursor this relies on; without them, the usual path.
_NEEDED = ("_adapt_connection", "_rows", "_description", "_rowcount", "_handle_exception")


def returns_nothing(context: DefaultExecutionContext) -> bool:
    """True for statements that cannot return rows: DDL, DML without RETURNING, SIMPLE."""
    if context.isddl or context.execution_options.get(SIMPLE):
        return True
    compiled: Any = context.compiled
    dml = context.isinsert or context.isupdate or context.isdelete
    return compiled is not None and dml and not getattr(compiled, "effective_returning", True)


def _capable(cursor: Any) -> bool:
    if not all(hasattr(cursor, name) for name in _NEEDED) or getattr(cursor, "server_side", False):
        return False
    adapted = cursor._adapt_connection
    return all(
        hasattr(adapted, name)
        for name in ("_execute_mutex", "_transaction", "_start_transaction", "_connection")
    )


async def _simple(cursor: Any, statement: str) -> None:
    adapted = cursor._adapt_connection
    async with adapted._execute_mutex:
        # As the dialect's own execute does: the DBAPI transaction begins with the first statement.
        if adapted._transaction is None:
            await adapted._start_transaction()
        try:
            status = await adapted._connection.execute(statement)
        except Exception as error:
            cursor._handle_exception(error)
    cursor._rows = deque()
    cursor._description = None
    found = _ROWCOUNT.match(status or "")
    cursor._rowcount = int(found.group(1)) if found else -1


def _do_execute(
    cursor: DBAPICursor, statement: str, parameters: Any, context: DefaultExecutionContext
) -> bool:
    if parameters or context.executemany or not returns_nothing(context):
        return False
    if not _capable(cursor):
        return False
    await_only(_simple(cursor, statement))
    return True


def install(engine: AsyncEngine) -> None:
    """Send this engine's parameterless, row-less statements as simple queries."""
    if engine.dialect.driver == "asyncpg" and not event.contains(
        engine.sync_engine, "do_execute", _do_execute
    ):
        event.listen(engine.sync_engine, "do_execute", _do_execute)
