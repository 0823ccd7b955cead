"""The migration engine's DDL goes to Postgres as simple queries, with the usual semantics."""

from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import DDL, String, column, table, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from migration_toolkit.run import simple_query


def ddl(statement: str) -> DDL:
    return DDL(statement)  # type: ignore[no-untyped-call]


VERSION = table("simple_version", column("version_num", String))


@pytest.fixture
async def engine(new_database: Callable[[], URL]) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(new_database(), poolclass=NullPool)
    simple_query.install(engine)
    yield engine
    await engine.dispose()


async def test_ddl_and_marked_statements_go_as_simple_queries(engine: AsyncEngine) -> None:
    # Two commands in one string: a prepared statement refuses that, a simple query runs both.
    async with engine.begin() as connection:
        # The first statement begins the transaction the usual way; the rest join it.
        await connection.execute(text("SELECT 1"))
        await connection.execute(ddl("CREATE TABLE a (id int); CREATE TABLE b (id int)"))
        marked = text("CREATE TABLE c (id int); CREATE TABLE d (id int)")
        await connection.execute(marked.execution_options(**{simple_query.SIMPLE: True}))
    async with engine.connect() as connection:
        found = await connection.scalars(
            text("SELECT relname FROM pg_class WHERE relname IN ('a', 'b', 'c', 'd')")
        )
        assert sorted(found) == ["a", "b", "c", "d"]


async def test_unmarked_text_is_still_prepared(engine: AsyncEngine) -> None:
    with pytest.raises(ProgrammingError, match="cannot insert multiple commands"):
        async with engine.begin() as connection:
            await connection.execute(text("SELECT 1"))
            await connection.execute(text("CREATE TABLE e (id int); CREATE TABLE f (id int)"))


async def test_the_first_statement_of_a_transaction_begins_it_the_usual_way(
    engine: AsyncEngine,
) -> None:
    """Outside a transaction the fast path is not taken: the statement would run alone."""
    with pytest.raises(ProgrammingError, match="cannot insert multiple commands"):
        async with engine.begin() as connection:
            await connection.execute(ddl("CREATE TABLE g (id int); CREATE TABLE h (id int)"))


async def test_dml_without_returning_reports_its_rowcount(engine: AsyncEngine) -> None:
    # Alembic checks the rowcount of its alembic_version UPDATE; it must stay right.
    async with engine.begin() as connection:
        await connection.execute(ddl("CREATE TABLE simple_version (version_num text)"))
        await connection.execute(text("INSERT INTO simple_version VALUES ('a'), ('b')"))
        result = await connection.execute(VERSION.update().values(version_num="c"))
        assert result.rowcount == 2
        deleted = await connection.execute(VERSION.delete().where(VERSION.c.version_num == "none"))
        assert deleted.rowcount == 0


async def test_an_error_is_translated_and_the_transaction_rolls_back(engine: AsyncEngine) -> None:
    with pytest.raises(DBAPIError, match='relation "missing" does not exist'):
        async with engine.begin() as connection:
            await connection.execute(ddl("CREATE TABLE kept (id int)"))
            await connection.execute(ddl("ALTER TABLE missing ADD COLUMN x int"))
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT to_regclass('kept')")) is None


async def test_queries_with_rows_or_parameters_take_the_usual_path(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT :n + 1"), {"n": 41}) == 42
        assert await connection.scalar(text("SELECT 'rows'")) == "rows"
