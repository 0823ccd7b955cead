"""Alembic commands on a connection of ours (Alembic cookbook, "connection sharing")."""

import asyncio
from collections.abc import Callable
from typing import TypeVar

from alembic.config import Config
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from migration_toolkit.revisions import alembic_config
from migration_toolkit.urls import merge_connect_args, split_query

T = TypeVar("T")


def run_on(url: URL, work: Callable[[Connection], T], connect_timeout: float = 10) -> T:
    """Run work(connection) on one connection to url; no transaction is left open for it."""

    async def main() -> T:
        plain, extra = split_query(url)
        engine = create_async_engine(
            plain,
            poolclass=NullPool,
            connect_args=merge_connect_args({"timeout": connect_timeout}, extra),
        )
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def config_for(connection: Connection | None = None) -> Config:
    """The project's Alembic config, quiet, with env.py using our connection if given."""
    config = alembic_config()
    config.attributes["configure_logger"] = False
    # The throwaway runs of a check are not news: no "upgraded from ..." line for each.
    config.attributes["quiet"] = True
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def idle(connection: Connection) -> None:
    """End the transaction our own queries began, so each revision commits on its own."""
    if connection.in_transaction():
        connection.commit()
