"""pytest-alembic's standard tests, run against a throwaway database of their own."""

from collections.abc import Callable, Iterator

import pytest
from alembic.config import Config
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from migration_toolkit.revisions import alembic_config as project_alembic_config

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


@pytest.fixture
def alembic_config() -> Config:
    config = project_alembic_config()
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture
def alembic_engine(new_database: Callable[[], URL]) -> Iterator[AsyncEngine]:
    # As pytest-alembic's docs show it: a plain AsyncEngine, with SQLAlchemy's default pool.
    engine = create_async_engine(new_database())
    yield engine
