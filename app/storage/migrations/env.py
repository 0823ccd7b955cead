"""Alembic environment: async Postgres, URL from settings, every model from app.models.

Kept close to Alembic's `async` template; the machinery it calls lives beside it in
app/storage, typed and tested.
"""

import asyncio
from logging.config import fileConfig
from typing import Any

# Imported for its effect: revisions may call op.sync_enum_values / op.add_enum_value.
import alembic_postgresql_enum  # noqa: F401
from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.models import metadata
from app.settings import get_settings
from app.storage import checksums, runner

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata


def context_options() -> dict[str, Any]:
    options: dict[str, Any] = {
        "target_metadata": target_metadata,
        "compare_type": True,
        "compare_server_default": True,
        # Each revision commits on its own: a failure leaves the one before it in place.
        "transaction_per_migration": True,
        # The checksum table beside alembic_version is the machinery's, not a model's.
        "include_name": checksums.include_name,
    }
    if not runner.changes_database():
        # Only commands without a destination (revision, check) autogenerate: upgrade,
        # downgrade and stamp never call these hooks, so they do not load them.
        from app.storage import autogen

        options["process_revision_directives"] = autogen.process_revision_directives
        options["render_item"] = autogen.render_item
    return options


def run_migrations_offline() -> None:
    """Emit SQL (`--sql`) without a database: the dialect is all that is needed."""
    context.configure(
        dialect_name="postgresql",
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **context_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, **context_options(), **runner.online_options(config))
    with context.begin_transaction():
        # context.run_migrations(), plus checksums and a failure that names its revision.
        runner.run_migrations()


async def run_async_migrations() -> None:
    settings = get_settings()
    connectable = create_async_engine(
        settings.migration_url,
        poolclass=pool.NullPool,
        connect_args=runner.connect_args(settings),
    )
    try:
        # One run at a time (advisory lock), bounded lock waits, retried lock timeouts.
        await runner.run_serialized(connectable, do_run_migrations)
    finally:
        await connectable.dispose()


async def run_on_async_engine(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(do_run_migrations)


def run_migrations_online() -> None:
    # Tests hand in their own connection (Alembic cookbook, "connection sharing"); pytest-alembic
    # hands in an AsyncEngine.
    connection = config.attributes.get("connection")
    if connection is None:
        asyncio.run(run_async_migrations())
    elif isinstance(connection, AsyncEngine):
        asyncio.run(run_on_async_engine(connection))
    else:
        do_run_migrations(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
