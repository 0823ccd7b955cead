"""The app's async engine and sessions; the only place the app connects to Postgres."""

from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any
from uuid import uuid4

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from app.settings import Settings, get_settings
from migration_toolkit.urls import merge_connect_args, split_query


def engine_options(settings: Settings) -> dict[str, Any]:
    connect_args: dict[str, Any] = {}
    if not settings.DB_STATEMENT_CACHE:
        # PgBouncer in transaction mode hands each transaction to any server connection,
        # where a statement prepared on another one does not exist.
        connect_args["statement_cache_size"] = 0
        # SQLAlchemy's own cache of prepared statements too (its asyncpg dialect docs).
        connect_args["prepared_statement_cache_size"] = 0
        connect_args["prepared_statement_name_func"] = lambda: f"__asyncpg_{uuid4()}__"
    return {
        "pool_size": settings.DB_POOL_SIZE,
        "pool_pre_ping": True,
        "connect_args": connect_args,
    }


def make_engine(url: URL, settings: Settings) -> AsyncEngine:
    # libpq parameters of managed-Postgres URLs (sslmode=require, ...) travel as asyncpg wants.
    plain, extra = split_query(url)
    options = engine_options(settings)
    options["connect_args"] = merge_connect_args(options["connect_args"], extra)
    return create_async_engine(plain, **options)


@lru_cache
def get_engine() -> AsyncEngine:
    settings = get_settings()
    return make_engine(settings.database_url, settings)


@lru_cache
def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(get_engine(), class_=AsyncSession, expire_on_commit=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    async with get_sessionmaker()() as session:
        yield session
