"""The app runs with data rights only; migrations run as the schema owner; replicas behind
PgBouncer run without prepared-statement caches. All on a real Postgres, with real roles."""

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from app.main import create_app
from app.settings import load_settings
from app.storage.database import get_session, make_engine
from migration_toolkit.revisions import code_heads
from tests.storage.safety_support import session
from tests.support import pg
from tests.support.project import Project, copy_project


@dataclass(frozen=True)
class Roles:
    owner: URL
    app: URL


@pytest.fixture
def roles(pg_server: pg.Server) -> Iterator[Roles]:
    """A database owned by a migration role, and an app role granted data rights only.

    The grants are the ones docs/migrations.md (Deployment) tells operators to run.
    """
    suffix = secrets.token_hex(4)
    owner, app = f"owner_{suffix}", f"app_{suffix}"
    passwords = {owner: "o-" + secrets.token_hex(8), app: "a-" + secrets.token_hex(8)}
    database = pg.create_database(pg_server, prefix="privilege")
    name = pg.quote(database.database or "")
    pg.execute(
        pg_server.url,
        f"CREATE ROLE {owner} LOGIN PASSWORD '{passwords[owner]}'",
        f"CREATE ROLE {app} LOGIN PASSWORD '{passwords[app]}'",
        f"ALTER DATABASE {name} OWNER TO {owner}",
        f"GRANT CONNECT ON DATABASE {name} TO {app}",
    )
    pg.execute(
        database,
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {app}",
    )
    try:
        yield Roles(
            owner=database.set(username=owner, password=passwords[owner]),
            app=database.set(username=app, password=passwords[app]),
        )
    finally:
        pg.drop_database(pg_server, database)
        pg.execute(pg_server.url, f"DROP ROLE IF EXISTS {app}", f"DROP ROLE IF EXISTS {owner}")


@pytest.fixture
async def app_engine(roles: Roles) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(roles.app, load_settings(APP_ENV="test"))
    yield engine
    await engine.dispose()


async def api(engine: AsyncEngine) -> httpx.AsyncClient:
    """The real app, its sessions on the app role's engine (commits are real)."""
    app = create_app()
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    async def override() -> AsyncIterator[AsyncSession]:
        async with sessions() as db_session:
            yield db_session

    app.dependency_overrides[get_session] = override
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_app_role_has_data_rights_only_and_the_api_works(
    roles: Roles, app_engine: AsyncEngine, tmp_path: Path
) -> None:
    project = Project(root=copy_project(tmp_path / "project"), database_url=roles.app)
    project.env["MIGRATION_DATABASE_URL"] = roles.owner.render_as_string(hide_password=False)
    result = project.make("migrate")
    assert result.returncode == 0, result.output
    owners = pg.fetch(
        roles.owner, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
    )
    assert [row["tableowner"] for row in owners] == [roles.owner.username]

    async with session(roles.app) as app_connection:
        for ddl in (
            "CREATE TABLE intruder (id int)",
            "ALTER TABLE author ADD COLUMN intruder int",
            "DROP TABLE book",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app_connection.execute(ddl)

    async with await api(app_engine) as client:
        created = await client.post("/authors", json={"name": "Octavia E. Butler"})
        assert created.status_code == 201, created.text
        listed = await client.get("/authors")
        assert [a["name"] for a in listed.json()] == ["Octavia E. Butler"]
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text


async def test_ready_is_503_while_the_database_is_behind_or_ahead(
    roles: Roles, app_engine: AsyncEngine, tmp_path: Path
) -> None:
    project = Project(root=copy_project(tmp_path / "project"), database_url=roles.app)
    project.env["MIGRATION_DATABASE_URL"] = roles.owner.render_as_string(hide_password=False)
    assert project.make("migrate").returncode == 0
    [head] = code_heads()
    async with await api(app_engine) as client:
        assert (await client.get("/health/ready")).status_code == 200
        # Behind: the previous release's schema (here: nothing applied yet).
        pg.execute(roles.owner, "DELETE FROM alembic_version")
        behind = await client.get("/health/ready")
        assert behind.status_code == 503
        assert behind.json() == {"status": "schema out of date", "database": [], "code": [head]}
        # Ahead: a newer release migrated first; this replica's code is older.
        pg.execute(roles.owner, "INSERT INTO alembic_version VALUES ('ffffffffffff')")
        ahead = await client.get("/health/ready")
        assert ahead.status_code == 503
        assert ahead.json()["database"] == ["ffffffffffff"]


async def test_without_the_statement_cache_no_prepared_statement_outlives_its_query(
    new_database: Callable[[], URL],
) -> None:
    """Behind PgBouncer (transaction mode) the next query may reach another server session:
    nothing prepared may stay behind on this one."""
    url = new_database()

    async def prepared_after_repeats(engine: AsyncEngine) -> list[str]:
        async with engine.connect() as connection:
            for _ in range(3):
                await connection.execute(text("SELECT count(*) FROM pg_class"))
                await connection.execute(text("SELECT 1"))
            rows = await connection.execute(text("SELECT name FROM pg_prepared_statements"))
            return [row.name for row in rows]

    cached = make_engine(url, load_settings(APP_ENV="test"))
    uncached = make_engine(url, load_settings(APP_ENV="test", DB_STATEMENT_CACHE=False))
    try:
        assert len(await prepared_after_repeats(cached)) >= 2  # the probe can see them
        left = await prepared_after_repeats(uncached)
        # Only the statement reading pg_prepared_statements itself, uniquely named.
        assert len(left) <= 1
        assert all(name.startswith("__asyncpg_") and len(name) > 40 for name in left)
    finally:
        await cached.dispose()
        await uncached.dispose()


async def test_the_app_role_cannot_write_the_migration_bookkeeping(
    roles: Roles, tmp_path: Path
) -> None:
    """With the Deployment grants (default privileges on the owner's tables), the app role
    still cannot touch alembic_version or alembic_checksum: the run revokes it."""
    project = Project(root=copy_project(tmp_path / "project"), database_url=roles.app)
    project.env["MIGRATION_DATABASE_URL"] = roles.owner.render_as_string(hide_password=False)
    assert project.make("migrate").returncode == 0
    async with session(roles.app) as app_connection:
        assert await app_connection.fetchval("SELECT count(*) FROM alembic_version") == 1
        for write in (
            "DELETE FROM alembic_checksum",
            "UPDATE alembic_checksum SET checksum = repeat('0', 64)",
            "INSERT INTO alembic_version VALUES ('ffffffffffff')",
            "DELETE FROM alembic_version",
            "TRUNCATE alembic_checksum",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await app_connection.execute(write)
    # A grant made again later is reported by the check.
    pg.execute(roles.owner, f"GRANT DELETE ON alembic_checksum TO {roles.app.username}")
    checked = project.make("migration-check")
    assert f"role {roles.app.username} may write alembic_checksum" in checked.output
