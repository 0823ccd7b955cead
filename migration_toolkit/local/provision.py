"""The project's own local Postgres, started or created only where that is safe.

Safe means: APP_ENV=development, a URL on this machine, and a server the project made itself.
The project remembers, in .local/servers.json, which host:port is its own cluster and which
belonged to a server of someone else's. So:
- nothing answers and the project never saw anything there: it creates its own cluster;
- nothing answers where its own cluster was: it starts that cluster;
- nothing answers where another server answered before: it says so and changes nothing;
- a missing database is created (and said so) only on the project's own cluster.
"""

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL

from migration_toolkit.config import Project
from migration_toolkit.errors import UserFacingError, explain_connection_error
from migration_toolkit.local.postgres import (
    Cluster,
    LocalPostgresError,
    cluster_for,
    docker_engine_answers,
    server_answers,
    wait_until_answers,
)
from migration_toolkit.urls import describe, is_local

Say = Callable[[str], None]
OWN, OTHER = "own", "other"


def data_root(project: Project) -> Path:
    return project.local_dir / "postgres"


def _memory_file(project: Project) -> Path:
    return project.local_dir / "servers.json"


def _address(url: URL) -> tuple[str, int]:
    return url.host or "127.0.0.1", url.port or 5432


def remembered(project: Project, url: URL) -> str | None:
    """'own', 'other' or None: what the project knows of the server at url's host:port."""
    try:
        known = json.loads(_memory_file(project).read_text())
    except (OSError, ValueError):
        return None
    host, port = _address(url)
    value = known.get(f"{host}:{port}") if isinstance(known, dict) else None
    return value if value in (OWN, OTHER) else None


def remember(project: Project, url: URL, kind: str) -> None:
    path = _memory_file(project)
    try:
        known = json.loads(path.read_text())
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    host, port = _address(url)
    if known.get(f"{host}:{port}") == kind:
        return
    known[f"{host}:{port}"] = kind
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")


def _compose_marker(project: Project) -> Path:
    return data_root(project) / "started-with-docker"


def _compose(project: Project, args: list[str], url: URL) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DB_USER": url.username or "postgres",
        "DB_PASSWORD": url.password or "",
        "DB_NAME": url.database or "postgres",
        "DB_PORT": str(url.port or 5432),
    }
    return subprocess.run(
        ["docker", "compose", *args],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def ensure_running(project: Project, url: URL, say: Say) -> None:
    """Before a development command connects: the project's own Postgres answers at url."""
    if not is_local(url):
        return
    host, port = _address(url)
    known = remembered(project, url)
    if server_answers(host, port):
        if known is None:
            remember(project, url, OTHER)
        return
    if known == OTHER:
        raise UserFacingError(
            f"nothing answers at {host}:{port}, where a Postgres of your own answered before: "
            "start your server, or point DATABASE_URL at another one (`make start` starts the "
            "project's own Postgres only where it made one)"
        )
    start_server(project, url, say)


def start_server(project: Project, url: URL, say: Say) -> None:
    """Bring up the project's own Postgres at the URL's local host:port."""
    host, port = _address(url)
    if not is_local(url):
        raise UserFacingError(
            f"{describe(url)} is not on this machine: `make start` only starts a local Postgres"
        )
    if server_answers(host, port):
        say(f"Postgres already answers at {host}:{port}")
        return
    if remembered(project, url) == OTHER:
        raise UserFacingError(
            f"{host}:{port} belongs to a Postgres the project did not create: start that "
            "server, or set DB_PORT to a free port for the project's own"
        )
    remember(project, url, OWN)
    if docker_engine_answers():
        say(f"starting Postgres with docker compose on {host}:{port}")
        result = _compose(project, ["up", "-d", "--wait", "postgres"], url)
        if result.returncode != 0:
            raise UserFacingError(f"docker compose up failed: {result.stderr.strip()[-300:]}")
        _compose_marker(project).parent.mkdir(parents=True, exist_ok=True)
        _compose_marker(project).write_text(str(port))
        return
    cluster = cluster_for(url, data_root(project))
    try:
        if not cluster.is_initialised():
            shown = cluster.data_dir.relative_to(project.root)
            say(f"created a local Postgres cluster in {shown} for {host}:{port}")
            cluster.init(url.username or "postgres", url.password or "")
        say(f"started the project's local Postgres on {host}:{port}")
        cluster.start()
    except LocalPostgresError as exc:
        raise UserFacingError(str(exc)) from None
    if not wait_until_answers(host, port, timeout=30):
        raise UserFacingError(f"the local Postgres did not come up on {host}:{port}")


def stop_servers(project: Project, say: Say) -> None:
    """Stop whatever start_server started: the compose service or our clusters."""
    stopped = False
    marker = _compose_marker(project)
    if marker.exists() and docker_engine_answers():
        subprocess.run(["docker", "compose", "stop"], cwd=project.root, check=False)
        marker.unlink()
        say("stopped the docker compose Postgres")
        stopped = True
    root = data_root(project)
    for data_dir in sorted(path for path in root.glob("data-*") if path.is_dir()):
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


def may_create_database(project: Project, url: URL) -> bool:
    return is_local(url) and remembered(project, url) == OWN


async def create_database(project: Project, url: URL, say: Say, timeout: float = 10.0) -> None:
    """On the project's own cluster only: create url's database if it is missing."""
    if not may_create_database(project, url):
        return
    try:
        created = await _create_database_if_missing(url, timeout)
    except (OSError, asyncpg.PostgresError) as exc:
        raise UserFacingError(
            explain_connection_error(exc, url) or f"cannot prepare {describe(url)}: {exc}"
        ) from None
    if created:
        say(f"created database {url.database!r} on the project's Postgres at {describe(url)}")
