"""The scale path, for real: replicas reach Postgres through PgBouncer in transaction mode while
the migration job connects directly. The app keeps serving through PgBouncer during a
migration, with no failed request; a migration pointed at PgBouncer is refused in one line.

PgBouncer is Debian's `pgbouncer` package (.ci/run installs it), started by the test.
"""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from tests.storage.safety_support import head_of, write_revision
from tests.support import pg
from tests.support.project import Project, copy_project

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


@dataclass(frozen=True)
class Bouncer:
    url: URL  # the database, through PgBouncer
    direct: URL  # the same database, Postgres itself


def _wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with __import__("socket").create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered on 127.0.0.1:{port}")


@pytest.fixture
def bouncer(new_database: object) -> Iterator[Bouncer]:
    assert os.path.exists(PGBOUNCER), "pgbouncer is not installed (apt-get install pgbouncer)"
    direct: URL = new_database()  # type: ignore[operator]
    port = pg.free_port()
    with tempfile.TemporaryDirectory(prefix="bookshelf-pgbouncer-") as folder:
        root = Path(folder)
        root.chmod(0o755)
        (root / "users.txt").write_text(f'"{direct.username}" ""\n')
        (root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"{direct.database} = host={direct.host} port={direct.port} "
            f"dbname={direct.database} user={direct.username} password={direct.password}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
            f"auth_type = trust\nauth_file = {root / 'users.txt'}\n"
            "pool_mode = transaction\ndefault_pool_size = 5\nmax_client_conn = 200\n"
            f"logfile = {root / 'pgbouncer.log'}\n"
        )
        (root / "pgbouncer.log").touch()
        for path in root.iterdir():
            path.chmod(0o666)  # read, and the log written, by the user PgBouncer runs as
        # PgBouncer refuses to run as root; -u drops to the server's system user.
        user = ["-u", "postgres"] if os.geteuid() == 0 else []
        process = subprocess.Popen(
            [PGBOUNCER, *user, str(root / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            try:
                _wait_for_port(port)
            except AssertionError:
                raise AssertionError((root / "pgbouncer.log").read_text()[-2000:]) from None
            yield Bouncer(url=direct.set(host="127.0.0.1", port=port), direct=direct)
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def project(tmp_path: Path, bouncer: Bouncer) -> Project:
    project = Project(root=copy_project(tmp_path / "project"), database_url=bouncer.url)
    project.env.update(
        APP_ENV="test",
        DB_STATEMENT_CACHE="false",
        MIGRATION_DATABASE_URL=bouncer.direct.render_as_string(hide_password=False),
    )
    return project


def test_a_migration_pointed_at_pgbouncer_is_refused(project: Project, bouncer: Bouncer) -> None:
    project.env["MIGRATION_DATABASE_URL"] = bouncer.url.render_as_string(hide_password=False)
    result = project.make("migrate")
    assert result.returncode != 0
    assert "Traceback" not in result.output
    [error] = result.errors()
    assert "connection pooler" in error and "MIGRATION_DATABASE_URL" in error
    assert pg.version(bouncer.direct) == []
    assert pg.tables(bouncer.direct) == set()


async def _load(base: str, seconds: float, rate: float) -> tuple[int, list[str]]:
    """Open-loop requests at `rate` per second for `seconds`: (sent, failures)."""
    failures: list[str] = []
    sent = 0
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:

        async def one(number: int) -> None:
            try:
                if number % 4 == 0:
                    response = await client.post("/authors", json={"name": f"Author {number}"})
                else:
                    response = await client.get("/authors")
                if response.status_code >= 400:
                    failures.append(f"{response.status_code} {response.text[:200]}")
            except httpx.HTTPError as exc:
                failures.append(repr(exc))

        tasks = []
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            tasks.append(asyncio.create_task(one(sent)))
            sent += 1
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)
    return sent, failures


async def test_the_app_serves_through_pgbouncer_while_a_migration_runs_directly(
    project: Project, bouncer: Bouncer
) -> None:
    assert project.make("migrate").returncode == 0
    base = head_of(project)
    write_revision(
        project,
        "b0c000000001",
        base,
        """
        from migration_toolkit import online

        op.add_column("author", sa.Column("nickname", sa.String(40), nullable=True))
        online.create_index_concurrently("ix_author_nickname", "author", ["nickname"])
        """,
        """
        from migration_toolkit import online

        online.drop_index_concurrently("ix_author_nickname")
        op.drop_column("author", "nickname")
        """,
    )
    port = pg.free_port()
    env = project.environment()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=project.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        load = asyncio.create_task(_load(f"http://127.0.0.1:{port}", seconds=6, rate=40))
        await asyncio.sleep(1.5)
        migration = await asyncio.create_subprocess_exec(
            "make",
            "--no-print-directory",
            "migrate",
            cwd=project.root,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await migration.communicate()
        sent, failures = await load
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert migration.returncode == 0, (out + err).decode()
    assert "upgraded from" in err.decode()
    assert sent >= 150
    assert failures == []
    assert "nickname" in pg.columns(bouncer.direct, "author")
    assert pg.version(bouncer.direct) == ["b0c000000001"]
    # The app's connections really went through PgBouncer: its server sessions, not the app's.
    assert "ix_author_nickname" in pg.indexes(bouncer.direct, "author")
