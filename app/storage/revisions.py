"""Which revision the code expects and which one a database is at."""

from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
VERSION_TABLE = "alembic_version"


def alembic_config(ini: Path = ALEMBIC_INI) -> Config:
    config = Config(str(ini))
    # Relative paths in alembic.ini are relative to the project, wherever we run from.
    config.set_main_option("script_location", str(ini.parent / "app/storage/migrations"))
    return config


@lru_cache
def code_heads() -> tuple[str, ...]:
    """The head revision(s) of the versions/ folder shipped with this code."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


async def database_revisions(connection: AsyncConnection) -> tuple[str, ...]:
    """The revision(s) stamped in the database; empty when it was never migrated."""
    present = await connection.scalar(text(f"SELECT to_regclass('{VERSION_TABLE}') IS NOT NULL"))
    if not present:
        return ()
    result = await connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
    return tuple(sorted(row[0] for row in result))
