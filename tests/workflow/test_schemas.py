"""Models in a Postgres schema besides public, and the bookkeeping in a schema configured for it
(`version_table_schema`), through the real make targets."""

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL

from tests.support import pg
from tests.support.project import Project, Result, copy_project

AUDIT = '''"""The audit log, in a schema of its own."""

from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    __tablename__ = "entry"
    __table_args__ = {"schema": "audit"}

    id: int | None = Field(default=None, primary_key=True)
    what: str = Field(max_length=200, index=True)
    author_id: int | None = Field(default=None, foreign_key="author.id")
'''


def ok(result: Result) -> Result:
    assert result.returncode == 0, result.output
    assert "Traceback" not in result.output
    return result


def relations(url: URL) -> set[str]:
    rows = pg.fetch(
        url,
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    return {row[0] for row in rows}


def schemas(url: URL) -> set[str]:
    rows = pg.fetch(url, "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%'")
    return {row[0] for row in rows} - {"information_schema"}


def test_a_schema_of_the_models_and_one_for_the_bookkeeping(
    tmp_path: Path, new_database: Callable[[], URL]
) -> None:
    project = Project(root=copy_project(tmp_path / "project"), database_url=new_database())
    url = project.database_url
    project.edit(
        "pyproject.toml",
        'database_url = "app.settings:migration_url"\n',
        'database_url = "app.settings:migration_url"\nversion_table_schema = "migrations"\n',
    )
    ok(project.make("migrate"))
    assert {"migrations.alembic_version", "migrations.alembic_checksum"} <= relations(url)
    assert "public.alembic_version" not in relations(url)

    # The schema exists already on this database (made by hand): the revision still makes
    # it where it does not, and its downgrade drops it.
    pg.execute(url, "CREATE SCHEMA audit")
    project.write("app/models/audit.py", AUDIT)
    before = project.versions()
    ok(project.make("migration", "msg=audit log"))
    (path,) = project.new_versions(before)
    source = path.read_text()
    assert 'op.execute("CREATE SCHEMA IF NOT EXISTS audit")' in source.split("def downgrade")[0]
    assert 'op.execute("DROP SCHEMA IF EXISTS audit")' in source.split("def downgrade")[1]
    ok(project.make("migrate"))
    assert "audit.entry" in relations(url)
    # Clean right after migrate: compared in its schema, no table reported missing.
    assert "models and migrations agree" in ok(project.make("migration-check")).stdout
    assert "No changes detected" in ok(project.make("migration", "msg=nothing")).output
    assert "the schema is the same" in ok(project.make("migration-test")).stdout
    ok(project.make("rollback"))
    assert schemas(url) == {"public", "migrations"}
    ok(project.make("migrate"))
    assert "audit.entry" in relations(url)
