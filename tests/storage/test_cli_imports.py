"""Which commands import what: Alembic's commands that do not compare models never import them
(a broken model module cannot block a rollback), and none imports the web app."""

import subprocess
import sys
from collections.abc import Callable

import pytest
from sqlalchemy.engine import URL

from tests.support.project import PROJECT_ROOT

WEB_MODULES = ("fastapi", "starlette", "uvicorn", "app.main", "app.api")
MODEL_MODULES = ("app.models",)


def imported_modules(url: URL, *args: str) -> set[str]:
    """Every module the command imported, from `python -X importtime`."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "alembic", *args],
        cwd=PROJECT_ROOT,
        env={"DATABASE_URL": url.render_as_string(hide_password=False), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    lines = [line for line in completed.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines}


def _matching(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.startswith(prefixes) or m.split(".")[0] in prefixes)


@pytest.mark.parametrize(
    "command",
    [
        ("heads",),
        ("upgrade", "head"),
        ("current",),
        ("history", "--indicate-current"),
        ("stamp", "head"),
        ("downgrade", "base"),
    ],
)
def test_commands_import_neither_the_web_app_nor_the_models(
    command: tuple[str, ...], new_database: Callable[[], URL]
) -> None:
    modules = imported_modules(new_database(), *command)
    assert "alembic" in modules  # the probe sees imports at all
    assert _matching(modules, WEB_MODULES) == []
    assert _matching(modules, MODEL_MODULES) == []
