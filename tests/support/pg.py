"""A real Postgres for the test session, and throwaway databases on it.

With TEST_DATABASE_URL set, its server is used; otherwise the session starts its own cluster
(the same code `make start` uses) on a free port, with password authentication, and stops it.
"""

import asyncio
import os
import secrets
import socket
import tempfile
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import URL

from app.settings import parse_database_url
from migration_toolkit.local.postgres import Cluster

T = TypeVar("T")


@dataclass(frozen=True)
class Server:
    """Where test databases live; `url` points at its maintenance database."""

    url: URL
    own_cluster: Cluster | None

    def database_url(self, name: str) -> URL:
        return self.url.set(database=name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def own_cluster(user: str = "postgres") -> Iterator[Server]:
    """A fresh cluster in a temporary folder, password-protected, stopped at the end."""
    password = "pw-" + secrets.token_hex(8)
    with tempfile.TemporaryDirectory(prefix="bookshelf-pg-") as folder:
        cluster = Cluster(data_dir=Path(folder) / "data", host="127.0.0.1", port=free_port())
        cluster.init(user, password)
        cluster.start()
        try:
            url = URL.create(
                "postgresql+asyncpg",
                username=user,
                password=password,
                host=cluster.host,
                port=cluster.port,
                database="postgres",
            )
            yield Server(url=url, own_cluster=cluster)
        finally:
            cluster.stop()


@contextmanager
def test_server() -> Iterator[Server]:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        url = parse_database_url(configured, name="TEST_DATABASE_URL")
        yield Server(url=url.set(database="postgres"), own_cluster=None)
        return
    with own_cluster() as server:
        yield server


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


def create_database(server: Server, prefix: str = "test") -> URL:
    name = f"{prefix}_{secrets.token_hex(6)}"
    execute(server.url, f"CREATE DATABASE {quote(name)}")
    return server.database_url(name)


def drop_database(server: Server, url: URL) -> None:
    execute(server.url, f"DROP DATABASE IF EXISTS {quote(url.database or '')} WITH (FORCE)")


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
