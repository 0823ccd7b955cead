"""The three-phase example of docs/migrations.md, written with the helpers, run through make."""

import shutil
from pathlib import Path

from tests.storage.online_support import constraint_validated, not_null
from tests.support import pg
from tests.support.project import PROJECT_ROOT, VERSIONS, Project, uv_binary

EXAMPLES = PROJECT_ROOT / "docs" / "examples" / "three_phase"
AUTHORS = 12_000


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.py"))


def test_the_guide_shows_the_example_revisions_as_they_are() -> None:
    guide = (PROJECT_ROOT / "docs" / "migrations.md").read_text()
    for path in example_files():
        body = path.read_text()
        code = body[body.index("def upgrade") :].strip()
        assert code in guide, f"docs/migrations.md does not show {path.name}'s code"


def test_three_phases_on_a_populated_table(project: Project) -> None:
    for path in example_files():
        shutil.copy(path, project.root / VERSIONS / path.name)
    url = project.database_url

    assert project.make("migrate", "rev=8ef2faae17b8").returncode == 0
    pg.execute(
        url,
        f"INSERT INTO author (name) SELECT 'Author ' || i FROM generate_series(1, {AUTHORS}) i",
    )

    migrated = project.make("migrate")
    assert migrated.returncode == 0, migrated.output
    assert pg.version(url) == ["3a0e1c5d7b03"]
    assert f"backfill author: {AUTHORS:,}/{AUTHORS:,} rows (100%)" in migrated.stderr
    assert not_null(url, "author", "email")
    assert constraint_validated(url, "author", "ck_author_email_not_null") is None
    emails = pg.fetch(url, "SELECT email FROM author WHERE name = 'Author 7'")
    assert emails[0]["email"] == "author 7@example.invalid"

    offline = project.run(
        uv_binary(), "run", "--no-sync", "alembic", "upgrade", "8ef2faae17b8:head", "--sql"
    )
    assert offline.returncode == 0, offline.output
    assert "UPDATE author SET email = lower(name)" in offline.stdout
    assert "ck_author_email_not_null CHECK (email IS NOT NULL) NOT VALID" in offline.stdout

    rolled_back = project.make("rollback", "rev=8ef2faae17b8")
    assert rolled_back.returncode == 0, rolled_back.output
    assert "email" not in pg.columns(url, "author")
