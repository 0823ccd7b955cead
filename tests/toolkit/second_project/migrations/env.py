"""Alembic's async template, with the migration toolkit's named calls (as in bookshelf)."""

from alembic import context
from inventory.settings import database_url
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

import migration_toolkit.environment as toolkit


def target_metadata() -> MetaData:
    from inventory.models import metadata

    return metadata


def run_migrations_offline() -> None:
    context.configure(
        dialect_name="postgresql",
        literal_binds=True,
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
        toolkit.run_migrations()


with toolkit.one_line_errors(database_url):
    if context.is_offline_mode():
        run_migrations_offline()
    else:
        toolkit.run_migrations_online(database_url, do_run_migrations)
