"""`make migrate` / `make start` bring up the project's own Postgres when none answers."""

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import URL

from migration_toolkit.local.postgres import server_answers
from tests.support import pg
from tests.support.pg import free_port
from tests.support.project import Project, copy_project


@pytest.fixture
def local_project() -> Iterator[Project]:
    """A scratch copy configured by DB_* parts, pointing at a port where nothing listens.

    Not under pytest's tmp_path: another pytest session on the machine resets the mode of
    /tmp/pytest-of-<user> to 0700, and the server (run as the postgres user when we are root)
    would lose its way to the data directory.
    """
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="bookshelf-local-"))
    project = Project(root=copy_project(folder / "project"), database_url=URL.create("x"))
    project.env.update(
        DATABASE_URL=None,
        DB_HOST="127.0.0.1",
        DB_PORT=str(port),
        DB_USER="postgres",
        DB_PASSWORD="local-pw@%:/#?",
        DB_NAME="shelf",
    )
    yield project
    shutil.rmtree(folder, ignore_errors=True)


def test_migrate_starts_its_own_postgres_and_stop_stops_it(local_project: Project) -> None:
    port = int(local_project.env["DB_PORT"] or 0)
    assert not server_answers("127.0.0.1", port)
    try:
        result = local_project.make("migrate")
        assert result.returncode == 0, result.output
        assert f"created a local Postgres cluster in .local/postgres/data-{port}" in result.stderr
        assert f"started the project's local Postgres on 127.0.0.1:{port}" in result.stderr
        assert "created database 'shelf'" in result.stderr
        assert "local-pw" not in result.output
        url = URL.create(
            "postgresql+asyncpg",
            username="postgres",
            password="local-pw@%:/#?",
            host="127.0.0.1",
            port=port,
            database="shelf",
        )
        assert pg.version(url) == ["8ef2faae17b8"]
        assert (local_project.root / ".local/postgres" / f"data-{port}" / "PG_VERSION").exists()

        again = local_project.make("start")
        assert again.returncode == 0 and "already answers" in again.stderr

        # Stopped: every database command starts the project's own again, nothing else.
        for target, said in (
            ("migration-current", "8ef2faae17b8 (head)"),
            ("migration-history", "8ef2faae17b8 (head)"),
            ("rollback", "rolled back from 8ef2faae17b8 (create author and book) to base"),
        ):
            stop = local_project.make("stop")
            assert f"stopped the local Postgres on port {port}" in stop.stderr
            assert not server_answers("127.0.0.1", port)
            done = local_project.make(target)
            assert done.returncode == 0, done.output
            assert f"started the project's local Postgres on 127.0.0.1:{port}" in done.stderr
            assert "created a local Postgres cluster" not in done.stderr
            assert said in done.output

        # Outside development nothing is ever started.
        assert local_project.make("stop").returncode == 0
        local_project.env["APP_ENV"] = "production"
        refused = local_project.make("migrate")
        assert refused.returncode != 0 and "cannot reach Postgres" in refused.errors()[0]
        assert not server_answers("127.0.0.1", port)
        local_project.env["APP_ENV"] = "development"
    finally:
        stopped = local_project.make("stop")
    assert stopped.returncode == 0, stopped.output
    assert not server_answers("127.0.0.1", port)


def test_remote_host_is_never_started(local_project: Project) -> None:
    # Only localhost, 127.0.0.1 and ::1 count as "this machine"; any other host is someone
    # else's server. 127.0.0.2 keeps the probe on loopback while standing for one.
    local_project.env.update(DB_HOST="127.0.0.2", MIGRATION_CONNECT_TIMEOUT="2")
    result = local_project.make("migrate", timeout=30)
    assert result.returncode != 0
    [error] = result.errors()
    assert "cannot reach Postgres at 127.0.0.2:" in error
    assert "make start" not in error
    assert not (local_project.root / ".local").exists()
    start = local_project.make("start")
    assert start.returncode != 0
    assert "not on this machine" in start.errors()[0]


def test_docker_compose_file_describes_a_healthy_postgres() -> None:
    from tests.support.project import PROJECT_ROOT

    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["postgres"]
    assert service["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(service["healthcheck"]["test"])
    volume = service["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]
    assert any("${DB_PORT:-54320}:5432" in port for port in service["ports"])


def test_docker_is_detected_by_asking_the_engine() -> None:
    from migration_toolkit.local.postgres import docker_engine_answers

    engine = (
        subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=20)
        if _docker_client()
        else None
    )
    assert docker_engine_answers() == (engine is not None and engine.returncode == 0)


def _docker_client() -> bool:
    import shutil

    return shutil.which("docker") is not None


def test_free_port_is_free() -> None:
    port = free_port()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))
