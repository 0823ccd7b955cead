"""A real Postgres for the test session, and throwaway databases on it.

With TEST_DATABASE_URL set, its server is used; otherwise the session starts its own cluster,
with password authentication, through the toolkit's one implementation of a throwaway server
(migration_toolkit.local.throwaway.own_server), and stops it. Databases are created and
dropped by pytest-postgresql's DatabaseJanitor, cloned from a template where one is given.
"""

import asyncio
import os
import secrets
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from pytest_postgresql.janitor import DatabaseJanitor
from sqlalchemy.engine import URL

from app.settings import parse_database_url
from migration_toolkit.local import throwaway

T = TypeVar("T")


@dataclass(frozen=True)
class Server:
    """Where test databases live; `url` points at its maintenance database."""

    url: URL
    # True when the session started it (it checks passwords, and it is ours to break).
    own: bool

    def database_url(self, name: str) -> URL:
        return self.url.set(database=name)


def free_port() -> int:
    return throwaway.free_port()


@contextmanager
def own_cluster(user: str = "postgres") -> Iterator[Server]:
    """A fresh cluster in a temporary folder, password-protected, stopped at the end."""
    with throwaway.own_server(lambda _line: None, user=user) as url:
        yield Server(url=url, own=True)


@contextmanager
def test_server() -> Iterator[Server]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        url = parse_database_url(configured, name="TEST_DATABASE_URL")
        yield Server(url=url.set(database="postgres"), own=False)
        return
    with own_cluster() as server:
        yield server


def janitor(server: Server, name: str, template: str | None = None) -> DatabaseJanitor:
    return DatabaseJanitor(
        user=server.url.username or "postgres",
        password=server.url.password,
        host=server.url.host or "127.0.0.1",
        port=server.url.port or 5432,
        dbname=name,
        template_dbname=template,
        maintenance_dbname=server.url.database or "postgres",
        connection_timeout=10,
    )


def create_database(server: Server, prefix: str = "test", template: URL | None = None) -> URL:
    """A new database; a copy of template's (CREATE DATABASE ... TEMPLATE) when given."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    janitor(server, name, template.database if template is not None else None).init()
    return server.database_url(name)


def drop_database(server: Server, url: URL) -> None:
    janitor(server, url.database or "").drop()


async def connect(url: URL) -> asyncpg.Connection:
    """A plain asyncpg connection (no SQLAlchemy) to url."""
    return await asyncpg.connect(
        user=url.username,
        password=url.password,
        host=url.host,
        port=url.port or 5432,
        database=url.database,
        timeout=10,
    )


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(lambda: asyncio.run(factory())).result()


def fetch(url: URL, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Run one query on a fresh connection; for tests checking the database's real state."""

    async def run() -> list[asyncpg.Record]:
        connection = await connect(url)
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()

    return run_sync(run)


def execute(url: URL, *statements: str) -> None:
    async def run() -> None:
        connection = await connect(url)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    run_sync(run)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def columns(url: URL, table: str) -> dict[str, dict[str, Any]]:
    """information_schema's view of a table's columns, by name."""
    rows = fetch(
        url,
        "SELECT column_name, data_type, character_maximum_length, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
        table,
    )
    return {row["column_name"]: dict(row) for row in rows}


def tables(url: URL) -> set[str]:
    rows = fetch(
        url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_type = 'BASE TABLE'",
    )
    return {row["table_name"] for row in rows}


def indexes(url: URL, table: str) -> dict[str, str]:
    rows = fetch(
        url,
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1",
        table,
    )
    return {row["indexname"]: row["indexdef"] for row in rows}


def constraints(url: URL, table: str) -> dict[str, str]:
    rows = fetch(
        url,
        "SELECT constraint_name, constraint_type FROM information_schema.table_constraints "
        "WHERE table_schema = 'public' AND table_name = $1",
        table,
    )
    return {row["constraint_name"]: row["constraint_type"] for row in rows}


def version(url: URL) -> Sequence[str]:
    """The revisions in alembic_version; empty when the table is missing or empty."""
    exists = fetch(url, "SELECT to_regclass('public.alembic_version') IS NOT NULL AS present")
    if not exists[0]["present"]:
        return []
    return sorted(
        row["version_num"] for row in fetch(url, "SELECT version_num FROM alembic_version")
    )
