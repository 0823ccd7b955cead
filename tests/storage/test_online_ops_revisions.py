"""The three-phase example of docs/migrations.md, written with the helpers, run through make."""

import shutil
from pathlib import Path

from migration_toolkit.online import events
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

    log = project.root / "events.jsonl"
    project.env["MIGRATION_EVENT_LOG"] = str(log)
    migrated = project.make("migrate")
    assert migrated.returncode == 0, migrated.output
    assert pg.version(url) == ["3a0e1c5d7b03"]
    assert f"backfill author: {AUTHORS:,}/{AUTHORS:,} rows (100%)" in migrated.stderr
    assert not_null(url, "author", "email")
    assert constraint_validated(url, "author", "ck_author_email_not_null") is None
    emails = pg.fetch(url, "SELECT email FROM author WHERE name = 'Author 7'")
    assert emails[0]["email"] == "author 7@example.invalid"

    # The run's steps, as JSON lines: each revision, what the helpers did, each statement.
    steps = events.read(log)
    revisions = [step.name for step in steps if step.kind == "revision"]
    assert revisions == [
        "upgrade 3a0e1c5d7b01 expand: add author email, nullable",
        "upgrade 3a0e1c5d7b02 backfill author email, in batches",
        "upgrade 3a0e1c5d7b03 contract: author email NOT NULL",
    ]
    kinds = {step.kind for step in steps}
    assert {"helper", "batch", "pause", "lock", "lock-wait", "validate", "sql"} <= kinds
    batches = [step for step in steps if step.kind == "batch"]
    assert sum(step.detail["rows"] for step in batches) == AUTHORS
    assert any(step.name.startswith("ALTER TABLE author ADD COLUMN email") for step in steps)
    assert all(step.start <= step.end for step in steps)
    project.env.pop("MIGRATION_EVENT_LOG")

    offline = project.run(
        uv_binary(), "run", "--no-sync", "alembic", "upgrade", "8ef2faae17b8:head", "--sql"
    )
    assert offline.returncode == 0, offline.output
    assert "UPDATE author SET email = lower(name)" in offline.stdout
    assert "ck_author_email_not_null CHECK (email IS NOT NULL) NOT VALID" in offline.stdout

    rolled_back = project.make("rollback", "rev=8ef2faae17b8")
    assert rolled_back.returncode == 0, rolled_back.output
    assert "email" not in pg.columns(url, "author")


RETYPE = '''"""retype book author_id

Revision ID: 5e1ec7ed0015
Revises: 8ef2faae17b8
"""

import sqlalchemy as sa

from migration_toolkit import online

revision = "5e1ec7ed0015"
down_revision = "8ef2faae17b8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    online.change_column_type("book", "author_id", sa.BigInteger())


def downgrade() -> None:
    online.change_column_type("book", "author_id", sa.Integer())
'''


def test_an_online_type_change_through_make_lints_clean_and_rolls_back(project: Project) -> None:
    project.write(f"{VERSIONS}/2026_12_01_0900-retype_book_author_id-5e1ec7ed0015.py", RETYPE)
    linted = project.make("migration-lint")
    assert linted.returncode == 0, linted.output

    offline = project.make("migration-sql", "rev=8ef2faae17b8:head")
    assert offline.returncode == 0, offline.output
    assert "ADD COLUMN IF NOT EXISTS _new_author_id BIGINT" in offline.stdout
    assert "UPDATE book SET _new_author_id = author_id::BIGINT" in offline.stdout

    url = project.database_url
    assert project.make("migrate", "rev=8ef2faae17b8").returncode == 0
    pg.execute(
        url,
        "INSERT INTO author (name) VALUES ('a')",
        "INSERT INTO book (title, author_id) SELECT 'b' || i, 1 FROM generate_series(1, 5000) i",
    )
    migrated = project.make("migrate")
    assert migrated.returncode == 0, migrated.output
    assert pg.columns(url, "book")["author_id"]["data_type"] == "bigint"
    assert "ix_book_author_id" in pg.indexes(url, "book")
    rolled_back = project.make("rollback")
    assert rolled_back.returncode == 0, rolled_back.output
    assert pg.columns(url, "book")["author_id"]["data_type"] == "integer"
    assert set(pg.constraints(url, "book")) >= {"fk_book_author_id_author"}
