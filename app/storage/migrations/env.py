"""Alembic environment: async Postgres, the URL from app.settings, the models from app.models.

Alembic's `async` template, with named calls into the migration toolkit (migration_toolkit/),
which makes every way of running Alembic equally safe: the lock, bounded lock waits,
checksums, the production guard, local set-up and one-line errors all live behind these calls.
"""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import MetaData
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import migration_toolkit.environment as toolkit
from app.settings import migration_url

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
    toolkit.configure_logging()


def target_metadata() -> MetaData:
    """Imported only by the commands that compare models (revision --autogenerate, check):
    a broken model module never blocks upgrade, rollback, current or history."""
    from app.models import metadata

    return metadata


def run_migrations_offline() -> None:
    """Emit SQL (`--sql`) without a database: the dialect is all that is needed."""
    context.configure(
        dialect_name="postgresql",
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **toolkit.context_options(target_metadata),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        **toolkit.context_options(target_metadata),
        **toolkit.online_options(connection),
    )
    with context.begin_transaction():
        # context.run_migrations(), plus checksums, the guard and a failure naming its revision.
        toolkit.run_migrations()


async def run_async_migrations(url: URL) -> None:
    # Set-up, NullPool engine, one run at a time (advisory lock), retried lock timeouts.
    await toolkit.run_online(url, do_run_migrations)


async def run_on_async_engine(engine: AsyncEngine) -> None:
    # The engine's pool may hold connections of another event loop (pytest-alembic's docs
    # create one engine and run each command in a new asyncio.run): migrate on a NullPool
    # engine of the same URL, which opens its connection on this loop and closes it after.
    own = toolkit.engine_like(engine)
    try:
        async with own.begin() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await own.dispose()


def run_migrations_online() -> None:
    # Tests hand in their own connection (Alembic cookbook, "connection sharing");
    # pytest-alembic hands in an AsyncEngine.
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(run_async_migrations(migration_url()))
    elif isinstance(connection, AsyncEngine):
        asyncio.run(run_on_async_engine(connection))
    else:
        do_run_migrations(connection)


with toolkit.one_line_errors(migration_url):
    if context.is_offline_mode():
        run_migrations_offline()
    else:
        run_migrations_online()
