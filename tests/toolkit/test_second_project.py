"""The toolkit serves any project that configures it: a second, minimal one in a scratch folder.

Its own models package, alembic.ini, env.py and versions/, nothing of bookshelf's: generate,
migrate, check, roll back, with the toolkit's safety (summary lines, checksums, lock).
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from tests.support import pg
from tests.support.project import PROJECT_ROOT, Result

SECOND = Path(__file__).parent / "second_project"


@pytest.fixture
def second(tmp_path: Path, new_database: Callable[[], URL]) -> tuple[Path, URL]:
    root = tmp_path / "inventory"
    shutil.copytree(SECOND, root)
    return root, new_database()


def run(root: Path, url: URL, *args: str) -> Result:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DB_", "DATABASE_URL", "MIGRATION_", "APP_ENV", "PYTEST_"))
    }
    # The toolkit is importable from this checkout; nothing else of bookshelf is.
    env.update(
        PYTHONPATH=str(PROJECT_ROOT / "migration_toolkit" / ".."),
        INVENTORY_DATABASE_URL=url.render_as_string(hide_password=False),
        APP_ENV="test",
    )
    completed = subprocess.run(
        [sys.executable, *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Result(list(args), completed.returncode, completed.stdout, completed.stderr)


def test_the_toolkit_drives_a_second_project(second: tuple[Path, URL]) -> None:
    root, url = second
    generated = run(root, url, "-m", "alembic", "revision", "--autogenerate", "-m", "create item")
    assert generated.returncode == 0, generated.output
    [revision_file] = sorted((root / "migrations" / "versions").glob("*.py"))
    source = revision_file.read_text()
    assert 'op.create_table(\n        "item"' in source
    assert "bookshelf" not in source and "app." not in source

    migrated = run(root, url, "-m", "alembic", "upgrade", "head")
    assert migrated.returncode == 0, migrated.output
    assert "upgraded from base to" in migrated.output
    assert "item" in pg.tables(url)
    assert {row["revision"] for row in pg.fetch(url, "SELECT revision FROM alembic_checksum")} == (
        set(pg.version(url))
    )

    checked = run(root, url, "-m", "migration_toolkit", "check")
    assert checked.returncode == 0, checked.output
    assert "models and migrations agree" in checked.output

    # The second project's model changes: the check sees it, without a word of bookshelf.
    models = root / "inventory" / "models.py"
    models.write_text(
        models.read_text().replace(
            'Column("sku", String(32), nullable=False, unique=True),',
            'Column("sku", String(32), nullable=False, unique=True),\n'
            '    Column("label", String(80), nullable=True),',
        )
    )
    drifted = run(root, url, "-m", "migration_toolkit", "check")
    assert drifted.returncode != 0
    assert "column item.label: in the models, not in the migrations" in drifted.output

    rolled_back = run(root, url, "-m", "alembic", "downgrade", "-1")
    assert rolled_back.returncode == 0, rolled_back.output
    assert "rolled back from" in rolled_back.output
    assert pg.version(url) == [] and "item" not in pg.tables(url)


def test_the_toolkit_never_imports_the_app() -> None:
    """No module of the toolkit names `app`: it is told where things are."""
    offenders = []
    for path in (PROJECT_ROOT / "migration_toolkit").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith(("import app", "from app")):
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {stripped}")
    assert offenders == []


def test_no_private_attribute_of_a_library_is_touched() -> None:
    """Only public interfaces of SQLAlchemy, asyncpg and Alembic: no `obj._name` anywhere in
    the toolkit or the app except on our own objects (self, cls) and modules."""
    import ast

    found = []
    for folder in ("migration_toolkit", "app"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if not isinstance(node, ast.Attribute):
                    continue
                name = node.attr
                if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
                    continue
                owner = node.value
                if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
                    continue
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}: .{name}")
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr":
                    literal = node.args[1] if len(node.args) > 1 else None
                    if (
                        isinstance(literal, ast.Constant)
                        and isinstance(literal.value, str)
                        and literal.value.startswith("_")
                        and not literal.value.endswith("__")
                    ):
                        found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}: getattr")
    assert found == []
