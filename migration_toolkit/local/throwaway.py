"""A throwaway database for the checks, never the developer's own.

Where it lives, first match wins:
1. TEST_DATABASE_URL's server (CI sets it to its Postgres service);
2. the configured server (DATABASE_URL / DB_*), when it is on this machine and answers:
   a new database beside the developer's, dropped afterwards;
3. a Postgres started for the occasion from local_postgres.Cluster, stopped afterwards.

This is the one place a throwaway server is started (own_server): the checks, `make ci`, the
schema snapshot and the test session (tests/support/pg.py) all come here.
"""

import asyncio
import os
import secrets
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL

from migration_toolkit.config import current_project
from migration_toolkit.errors import UserFacingError, explain_connection_error
from migration_toolkit.local.postgres import Cluster, LocalPostgresError, server_answers
from migration_toolkit.urls import describe, is_local, parse_url

Say = Callable[[str], None]
PREFIX = "migcheck"


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _connect(server: URL) -> asyncpg.Connection:
    return await asyncpg.connect(
        user=server.username,
        password=server.password,
        host=server.host,
        port=server.port or 5432,
        database=server.database,
        timeout=10,
    )


async def _execute(server: URL, statement: str) -> None:
    connection = await _connect(server)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _server_major(server: URL) -> int:
    connection = await _connect(server)
    try:
        return int(connection.get_server_version().major)
    finally:
        await connection.close()


def server_major(server: URL) -> int:
    """The major version of the Postgres at server (18 for 18.1)."""
    return asyncio.run(_server_major(server))


@contextmanager
def own_server(say: Say, user: str = "postgres") -> Iterator[URL]:
    """A fresh cluster of the server binaries here, on a free port, password-protected,
    stopped and removed at the end."""
    password = secrets.token_hex(12)
    with tempfile.TemporaryDirectory(prefix="migration-check-") as folder:
        cluster = Cluster(data_dir=Path(folder) / "data", host="127.0.0.1", port=free_port())
        say(f"starting a throwaway Postgres on {cluster.host}:{cluster.port}")
        try:
            cluster.init(user, password)
            cluster.start()
        except LocalPostgresError as exc:
            raise UserFacingError(
                f"{exc}; or set TEST_DATABASE_URL to a Postgres server the checks may use"
            ) from None
        try:
            yield URL.create(
                "postgresql+asyncpg",
                username=user,
                password=password,
                host=cluster.host,
                port=cluster.port,
                database="postgres",
            )
        finally:
            cluster.stop()


def _configured_server() -> URL | None:
    """The developer's server, if local and up; we connect to their database only to CREATE."""
    try:
        url = current_project().url()
    except (UserFacingError, ValueError):
        return None
    if not is_local(url) or not server_answers(url.host or "127.0.0.1", url.port or 5432):
        return None
    return url


@contextmanager
def server(say: Say = _say) -> Iterator[URL]:
    """A URL of a database on a server where we may create and drop databases."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield parse_url(configured, name="TEST_DATABASE_URL").set(database="postgres")
        return
    local = _configured_server()
    if local is not None:
        yield local
        return
    with own_server(say) as url:
        yield url


def _create(maintenance: URL) -> URL:
    name = f"{PREFIX}_{secrets.token_hex(6)}"
    candidates = [maintenance, maintenance.set(database="postgres")]
    last: BaseException | None = None
    for candidate in candidates:
        try:
            asyncio.run(_execute(candidate, f"CREATE DATABASE {_quote(name)}"))
            return candidate.set(database=name)
        except asyncpg.InvalidCatalogNameError as exc:
            # The developer's database may not exist yet; the maintenance one does.
            last = exc
        except asyncpg.InsufficientPrivilegeError:
            raise UserFacingError(
                f"user {candidate.username!r} may not create databases at {describe(candidate)}: "
                "set TEST_DATABASE_URL to a server where it may, for the throwaway database"
            ) from None
        except (OSError, asyncpg.PostgresError) as exc:
            last = exc
            break
    assert last is not None
    message = explain_connection_error(last, maintenance)
    raise UserFacingError(message or f"cannot create a throwaway database: {last}") from None


def _drop(maintenance: URL, url: URL) -> None:
    statement = f"DROP DATABASE IF EXISTS {_quote(url.database or '')} WITH (FORCE)"
    for candidate in (maintenance.set(database="postgres"), maintenance):
        try:
            asyncio.run(_execute(candidate, statement))
            return
        except (OSError, asyncpg.PostgresError):
            continue


@contextmanager
def database(say: Say = _say, major: int | None = None) -> Iterator[URL]:
    """An empty database nobody else uses, dropped at the end whatever happens.

    With major, on a server of that major version: the usual one when it is, else a cluster
    of the binaries here started for it (pg_dump's output depends on the server's version).
    """
    with databases(1, say, major) as (url,):
        yield url


@contextmanager
def databases(count: int, say: Say = _say, major: int | None = None) -> Iterator[tuple[URL, ...]]:
    """count empty databases on one server (as database() chooses it), all dropped at the end."""
    with server(say) as maintenance:
        if major is not None and _major_or_none(maintenance) != major:
            with own_server(say) as own, _all_created(own, count) as urls:
                yield urls
            return
        with _all_created(maintenance, count) as urls:
            yield urls


def _major_or_none(server: URL) -> int | None:
    try:
        return server_major(server)
    except (OSError, asyncpg.PostgresError):
        try:
            return server_major(server.set(database="postgres"))
        except (OSError, asyncpg.PostgresError):
            return None


@contextmanager
def _all_created(maintenance: URL, count: int) -> Iterator[tuple[URL, ...]]:
    urls: list[URL] = []
    try:
        for _ in range(count):
            urls.append(_create(maintenance))
        yield tuple(urls)
    finally:
        for url in urls:
            _drop(maintenance, url)
