"""Migration commands never import the web app: FastAPI costs start-up time and is not needed."""

import subprocess
import sys
from collections.abc import Callable

import pytest
from sqlalchemy.engine import URL

from migration_toolkit.revisions import PROJECT_ROOT

WEB_MODULES = ("fastapi", "starlette", "uvicorn", "app.main", "app.api")


def imported_modules(url: URL, *args: str) -> set[str]:
    """Every module the command imported, from `python -X importtime`."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "app.storage", *args],
        cwd=PROJECT_ROOT,
        env={"DATABASE_URL": url.render_as_string(hide_password=False), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = [line for line in completed.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines}


@pytest.mark.parametrize("command", [("heads",), ("migrate",), ("current",), ("rollback", "base")])
def test_migration_commands_do_not_import_the_web_app(
    command: tuple[str, ...], new_database: Callable[[], URL]
) -> None:
    modules = imported_modules(new_database(), *command)
    assert "alembic" in modules  # the probe sees imports at all
    web = sorted(m for m in modules if m.split(".")[0] in WEB_MODULES or m.startswith(WEB_MODULES))
    assert web == []
