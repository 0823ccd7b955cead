"""env.py: online through the configured URL and through a handed-in connection; offline SQL."""

import subprocess
import sys
from collections.abc import Callable

from alembic import command
from sqlalchemy.engine import URL

from migration_toolkit.revisions import alembic_config, code_heads
from tests.conftest import run_alembic
from tests.support import pg
from tests.support.project import PROJECT_ROOT


def run_cli(url: URL, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=PROJECT_ROOT,
        env={"DATABASE_URL": url.render_as_string(hide_password=False), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_online_upgrade_and_downgrade_through_settings(new_database: Callable[[], URL]) -> None:
    url = new_database()
    upgraded = run_cli(url, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    assert pg.version(url) == list(code_heads())
    assert {"author", "book"} <= pg.tables(url)
    downgraded = run_cli(url, "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    assert pg.version(url) == []
    assert not {"author", "book"} & pg.tables(url)


async def test_handed_in_connection_is_used(new_database: Callable[[], URL]) -> None:
    url = new_database()
    await run_alembic(url, lambda config: command.upgrade(config, "head"))
    assert pg.version(url) == list(code_heads())
    assert pg.constraints(url, "book")["fk_book_author_id_author"] == "FOREIGN KEY"


def test_offline_sql_needs_no_database(capsys: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head", "--sql"],
        cwd=PROJECT_ROOT,
        # A URL nobody listens on: offline mode must not try to connect.
        env={"DATABASE_URL": "postgresql://u:p@192.0.2.1:1/none", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    sql = result.stdout
    assert "CREATE TABLE author" in sql
    assert (
        "CONSTRAINT fk_book_author_id_author FOREIGN KEY(author_id) REFERENCES author (id)" in sql
    )
    assert "INSERT INTO alembic_version (version_num) VALUES ('8ef2faae17b8')" in sql
    assert sql.count("BEGIN;") == sql.count("COMMIT;") >= 1


def test_offline_downgrade_sql() -> None:
    config = alembic_config()
    config.attributes["configure_logger"] = False
    from io import StringIO

    buffer = StringIO()
    config.output_buffer = buffer
    command.downgrade(config, "8ef2faae17b8:base", sql=True)
    assert "DROP TABLE book" in buffer.getvalue()
    assert "DROP TABLE author" in buffer.getvalue()
