"""Which revision the code expects and which one a database is at."""

import os
from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from migration_toolkit.config import current_project, find_root, project_at

VERSION_TABLE = "alembic_version"
# A squashed revision's module names the revisions it replaces, as Django's `replaces` does
# (make migration-squash, migration_toolkit/schema/squash.py).
REPLACES = "replaces"


def bookkeeping_schema() -> str | None:
    """The schema of alembic_version and the checksum ledger: `version_table_schema` of
    [tool.migration_toolkit], else None (the connection's search_path, normally public)."""
    try:
        from alembic import context

        ini = context.config.config_file_name
    except AttributeError:  # outside env.py
        ini = None
    return _schema_of(ini, os.getcwd())


@lru_cache
def _schema_of(ini: str | None, cwd: str) -> str | None:
    try:
        root = find_root(Path(ini).resolve().parent) if ini else find_root(Path(cwd))
        return project_at(root).version_table_schema
    except Exception:  # no project to ask (an installed app without its pyproject.toml)
        return None


def qualified(table: str, schema: str | None = None) -> str:
    """A bookkeeping table's name for SQL, in the bookkeeping schema."""
    schema = schema if schema is not None else bookkeeping_schema()
    return f'"{schema}".{table}' if schema else table


def alembic_config(root: Path | None = None) -> Config:
    """The Alembic config of the project at root (default: found from the working dir)."""
    project = project_at(find_root(root)) if root is not None else current_project()
    return project.alembic_config()


@lru_cache
def code_heads(root: Path | None = None) -> tuple[str, ...]:
    """The head revision(s) of the versions/ folder shipped with this code."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config(root)).get_heads()))


async def database_revisions(connection: AsyncConnection) -> tuple[str, ...]:
    """The revision(s) stamped in the database; empty when it was never migrated."""
    table = qualified(VERSION_TABLE)
    present = await connection.scalar(text(f"SELECT to_regclass('{table}') IS NOT NULL"))
    if not present:
        return ()
    result = await connection.execute(text(f"SELECT version_num FROM {table}"))
    return tuple(sorted(row[0] for row in result))


def replaced_by(revision: Script) -> tuple[str, ...]:
    """The ids a squashed revision replaces (its own id among them); () for any other."""
    value = getattr(revision.module, REPLACES, ())
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple | list):
        return tuple(str(item) for item in value)
    return ()


def squash_replacing(script: ScriptDirectory, revision: str) -> Script | None:
    """The squashed revision that replaced revision (an id no file has any more), if any."""
    for candidate in script.walk_revisions():
        if revision in replaced_by(candidate) and candidate.revision != revision:
            return candidate
    return None
