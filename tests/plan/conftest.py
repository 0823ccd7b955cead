"""A database at the first revision whose tables have real rows, shared by the plan's tests."""

from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy.engine import URL

from tests.conftest import run_alembic
from tests.plan.support import FIRST, fill

BOOKS = 50_000


@pytest.fixture(scope="session")
async def library(new_database: Callable[[], URL]) -> URL:
    """author (1,000 rows) and book (50,000 rows), built by the first revision. Read only."""
    url = new_database()
    await run_alembic(url, lambda config: command.upgrade(config, FIRST))
    fill(url, BOOKS)
    return url
