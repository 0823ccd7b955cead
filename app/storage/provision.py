"""Make the configured database exist: start a local server if needed, create the database.

Only ever acts on this machine; for another host it changes nothing.
"""

import asyncio
import os
import subprocess
from collections.abc import Callable

import asyncpg
from sqlalchemy.engine import URL

from app.settings import describe, is_local
from app.storage.errors import UserFacingError, explain_connection_error
from app.storage.local_postgres import (
    DATA_ROOT,
    Cluster,
    LocalPostgresError,
    cluster_for,
    docker_engine_answers,
    server_answers,
    wait_until_answers,
)
from app.storage.revisions import PROJECT_ROOT

Say = Callable[[str], None]
_COMPOSE_MARKER = DATA_ROOT / "started-with-docker"


def _compose(args: list[str], url: URL) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DB_USER": url.username or "postgres",
        "DB_PASSWORD": url.password or "",
        "DB_NAME": url.database or "app",
        "DB_PORT": str(url.port or 5432),
    }
    return subprocess.run(
        ["docker", "compose", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def start_server(url: URL, say: Say) -> None:
    """Bring up a Postgres at the URL's local host:port, unless one answers already."""
    host, port = url.host or "127.0.0.1", url.port or 5432
    if not is_local(url):
        raise UserFacingError(
            f"{describe(url)} is not on this machine: `make start` only starts a local Postgres"
        )
    if server_answers(host, port):
        say(f"Postgres already answers at {host}:{port}")
        return
    if docker_engine_answers():
        say(f"starting Postgres with docker compose on {host}:{port}")
        result = _compose(["up", "-d", "--wait", "postgres"], url)
        if result.returncode != 0:
            raise UserFacingError(f"docker compose up failed: {result.stderr.strip()[-300:]}")
        DATA_ROOT.mkdir(parents=True, exist_ok=True)
        _COMPOSE_MARKER.write_text(str(port))
        return
    cluster = cluster_for(url)
    try:
        if not cluster.is_initialised():
            say(
                f"creating a local Postgres cluster in {cluster.data_dir.relative_to(PROJECT_ROOT)}"
            )
            cluster.init(url.username or "postgres", url.password or "")
        say(f"starting the local Postgres on {host}:{port}")
        cluster.start()
    except LocalPostgresError as exc:
        raise UserFacingError(str(exc)) from None


def stop_servers(say: Say) -> None:
    """Stop whatever start_server started: the compose service or our clusters."""
    stopped = False
    if _COMPOSE_MARKER.exists() and docker_engine_answers():
        subprocess.run(["docker", "compose", "stop"], cwd=PROJECT_ROOT, check=False)
        _COMPOSE_MARKER.unlink()
        say("stopped the docker compose Postgres")
        stopped = True
    for data_dir in sorted(path for path in DATA_ROOT.glob("data-*") if path.is_dir()):
        cluster = Cluster(data_dir=data_dir, host="127.0.0.1", port=int(data_dir.name[5:]))
        if (data_dir / "postmaster.pid").exists():
            try:
                cluster.stop()
            except LocalPostgresError as exc:
                raise UserFacingError(str(exc)) from None
            say(f"stopped the local Postgres on port {cluster.port}")
            stopped = True
    if not stopped:
        say("no Postgres started by this project is running")


async def _create_database_if_missing(url: URL, timeout: float) -> bool:
    connection = await asyncpg.connect(
        user=url.username,
        password=url.password,
        host=url.host,
        port=url.port or 5432,
        database="postgres",
        timeout=timeout,
    )
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", url.database
        )
        if exists:
            return False
        quoted = '"' + (url.database or "").replace('"', '""') + '"'
        await connection.execute(f"CREATE DATABASE {quoted}")
        return True
    finally:
        await connection.close()


def ensure_database(url: URL, say: Say, timeout: float = 10.0) -> None:
    """For a local URL: start the server if nothing answers, create the database if missing."""
    if not is_local(url):
        return
    host, port = url.host or "127.0.0.1", url.port or 5432
    if not server_answers(host, port):
        start_server(url, say)
        if not wait_until_answers(host, port, timeout=30):
            raise UserFacingError(f"the local Postgres did not come up on {host}:{port}")
    try:
        created = asyncio.run(_create_database_if_missing(url, timeout))
    except (OSError, asyncpg.PostgresError) as exc:
        raise UserFacingError(
            explain_connection_error(exc, url) or f"cannot prepare {describe(url)}: {exc}"
        ) from None
    if created:
        say(f"created database {url.database!r} on {host}:{port}")
