"""Revisions created from Python (command.revision) get the same hooks as `make migration`."""

import shutil
from collections.abc import Callable
from pathlib import Path

from alembic import command
from sqlalchemy.engine import URL

from migration_toolkit.revisions import alembic_config
from tests.conftest import run_alembic
from tests.support.project import PROJECT_ROOT, VERSIONS


async def test_no_change_writes_no_file_from_python(
    tmp_path: Path, new_database: Callable[[], URL]
) -> None:
    # A copy of alembic.ini and the migrations folder, so a wrongly written file lands there.
    shutil.copytree(PROJECT_ROOT / "app/storage/migrations", tmp_path / "app/storage/migrations")
    shutil.copy(PROJECT_ROOT / "alembic.ini", tmp_path / "alembic.ini")
    url = new_database()
    await run_alembic(url, lambda config: command.upgrade(config, "head"))
    before = sorted((tmp_path / VERSIONS).glob("*.py"))

    def generate(config: object) -> None:
        copy = alembic_config(tmp_path / "alembic.ini")
        copy.attributes.update(config.attributes)  # type: ignore[attr-defined]
        assert command.revision(copy, message="nothing", autogenerate=True) in (None, [])

    await run_alembic(url, generate)
    assert sorted((tmp_path / VERSIONS).glob("*.py")) == before
