"""A throwaway database for the checks, never the developer's own.

Where it lives, first match wins:
1. TEST_DATABASE_URL's server (CI sets it to its Postgres service);
2. the configured server (DATABASE_URL / DB_*), when it is on this machine and answers:
   a new database beside the developer's, dropped afterwards;
3. a Postgres started for the occasion from local_postgres.Cluster, stopped afterwards.
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


async def _execute(server: URL, statement: str) -> None:
    connection = await asyncpg.connect(
        user=server.username,
        password=server.password,
        host=server.host,
        port=server.port or 5432,
        database=server.database,
        timeout=10,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def own_server(say: Say) -> Iterator[URL]:
    password = secrets.token_hex(12)
    with tempfile.TemporaryDirectory(prefix="migration-check-") as folder:
        cluster = Cluster(data_dir=Path(folder) / "data", host="127.0.0.1", port=_free_port())
        say(f"starting a throwaway Postgres on {cluster.host}:{cluster.port}")
        try:
            cluster.init("postgres", password)
            cluster.start()
        except LocalPostgresError as exc:
            raise UserFacingError(
                f"{exc}; or set TEST_DATABASE_URL to a Postgres server the checks may use"
            ) from None
        try:
            yield URL.create(
                "postgresql+asyncpg",
                username="postgres",
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
def database(say: Say = _say) -> Iterator[URL]:
    """An empty database nobody else uses, dropped at the end whatever happens."""
    with server(say) as maintenance:
        url = _create(maintenance)
        try:
            yield url
        finally:
            _drop(maintenance, url)
