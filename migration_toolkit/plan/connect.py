"""Plain asyncpg connections for the plan and the rehearsal, from the configured URL.

The libpq parameters of the URL (sslmode, ...) travel as SQLAlchemy's asyncpg dialect passes
them (urls.split_query); the session is named so a DBA sees what it is in pg_stat_activity.
"""

from typing import Any

import asyncpg
from sqlalchemy.engine import URL

from migration_toolkit.environment import migration_url
from migration_toolkit.urls import merge_connect_args

APPLICATION_NAME = "migration-toolkit plan"


def connect_kwargs(url: URL, application_name: str = APPLICATION_NAME) -> dict[str, Any]:
    plain, extra = migration_url(url)
    base: dict[str, Any] = {
        "user": plain.username,
        "password": plain.password,
        "host": plain.host,
        "port": plain.port or 5432,
        "database": plain.database,
        "timeout": 10,
        "server_settings": {"application_name": application_name},
    }
    return merge_connect_args(base, extra)


async def connect(url: URL, application_name: str = APPLICATION_NAME) -> asyncpg.Connection:
    return await asyncpg.connect(**connect_kwargs(url, application_name))


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
