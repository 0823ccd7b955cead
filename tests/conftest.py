"""Shared fixtures: one real Postgres per session, a migrated database, per-test isolation."""

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from alembic.config import Config
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession

from app.main import create_app
from app.storage.database import get_session
from migration_toolkit.revisions import alembic_config
from migration_toolkit.schema import load
from tests.support import pg
from tests.support import project as scratch_copies
from tests.support.project import Project, copy_project

# Tests by kind (`make test-quick` runs all but e2e): e2e make a scratch copy of the project
# and run the real make there (tests/workflow/, these fixtures, or marked by hand); database
# tests use the session's Postgres; unit tests neither.
E2E_FIXTURES = frozenset({"project", "scratch"})
# The workflow tests and the corpus of model sets drive make in scratch copies throughout.
E2E_FOLDERS = (Path(__file__).parent / "workflow", Path(__file__).parent / "corpus")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        marked = item.get_closest_marker("e2e") is not None
        in_e2e_folder = any(folder in item.path.parents for folder in E2E_FOLDERS)
        if marked or names & E2E_FIXTURES or in_e2e_folder:
            item.add_marker(pytest.mark.e2e)
        elif "pg_server" in names:
            item.add_marker(pytest.mark.database)
        else:
            item.add_marker(pytest.mark.unit)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before the test's fixtures: a scratch copy made by a test not marked e2e is refused.
    scratch_copies.scratch_allowed = item.get_closest_marker("e2e") is not None


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.Server]:
    with pg.test_server() as server:
        yield server


@pytest.fixture(scope="session")
def new_database(pg_server: pg.Server) -> Iterator[Callable[[], URL]]:
    """A factory of empty throwaway databases, all dropped when the session ends."""
    created: list[URL] = []

    def make() -> URL:
        url = pg.create_database(pg_server)
        created.append(url)
        return url

    yield make
    for url in created:
        pg.drop_database(pg_server, url)


async def run_alembic(url: URL, action: Callable[[Config], None]) -> None:
    """Run an Alembic command on our own connection, handed to env.py (connection sharing)."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:

            def run(sync_connection: object) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_connection
                config.attributes["configure_logger"] = False
                action(config)

            await connection.run_sync(run)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def template_url(new_database: Callable[[], URL]) -> URL:
    """The schema at head, built once per session: the committed snapshot loaded by psql and
    stamped (its later revisions upgraded, if any), never create_all. Only ever cloned:
    tests about migrations replay them on a database of their own (new_database)."""
    url = new_database()
    load.build(url)
    return url


@pytest.fixture(scope="session")
def migrated_database(pg_server: pg.Server, template_url: URL) -> Iterator[Callable[[], URL]]:
    """A factory of fresh databases at head, each a copy of the template, dropped at the end."""
    created: list[URL] = []

    def make() -> URL:
        url = pg.create_database(pg_server, prefix="migrated", template=template_url)
        created.append(url)
        return url

    yield make
    for url in created:
        pg.drop_database(pg_server, url)


@pytest.fixture(scope="session")
def migrated_url(migrated_database: Callable[[], URL]) -> URL:
    """A database at head shared by the API tests (each test in a transaction rolled back)."""
    return migrated_database()


@pytest.fixture(scope="session")
async def engine(migrated_url: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(migrated_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One outer transaction per test, rolled back afterwards: tests never see each other."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    # The service's commits become savepoints inside the test's transaction.
    async with AsyncSession(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        yield session


@pytest.fixture
async def client(session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()

    async def override() -> AsyncIterator[AsyncSession]:
        yield session

    app.dependency_overrides[get_session] = override
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def project(tmp_path: Path, new_database: Callable[[], URL]) -> Project:
    """A scratch copy of the project with its own empty database."""
    return Project(root=copy_project(tmp_path / "project"), database_url=new_database())
