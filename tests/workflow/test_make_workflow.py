"""The everyday workflow through the real Makefile, in a scratch copy, on a real Postgres."""

import re

from tests.support import pg
from tests.support.project import Project

INITIAL = "8ef2faae17b8"
AUTHOR_ID_LINE = "    id: int | None = Field(default=None, primary_key=True)\n"


def add_author_field(project: Project, line: str) -> None:
    project.edit("app/models/author.py", AUTHOR_ID_LINE, AUTHOR_ID_LINE + line + "\n")


def generate(project: Project, message: str) -> str:
    before = project.versions()
    result = project.make("migration", f"msg={message}")
    assert result.returncode == 0, result.output
    [created] = project.new_versions(before)
    assert re.match(r"^\d{4}_\d{2}_\d{2}_\d{6}-[a-z0-9_]+-[0-9a-f]{12}\.py$", created.name)
    compile(created.read_text(), str(created), "exec")
    return created.read_text()


def migrate(project: Project, *args: str) -> None:
    result = project.make("migrate", *args)
    assert result.returncode == 0, result.output


def rollback(project: Project, *args: str) -> None:
    result = project.make("rollback", *args)
    assert result.returncode == 0, result.output


def test_add_a_field_migrate_and_roll_back(project: Project) -> None:
    url = project.database_url
    migrate(project)
    assert pg.version(url) == [INITIAL]
    add_author_field(project, "    email: str | None = Field(default=None, max_length=320)")
    text = generate(project, "add author email")
    assert 'op.add_column(\n        "author"' in text or 'op.add_column("author"' in text
    assert 'op.drop_column("author", "email")' in text
    migrate(project)
    email = pg.columns(url, "author")["email"]
    assert (email["data_type"], email["character_maximum_length"], email["is_nullable"]) == (
        "character varying",
        320,
        "YES",
    )
    head = pg.version(url)
    assert head != [INITIAL]
    rollback(project)
    assert "email" not in pg.columns(url, "author")
    assert pg.version(url) == [INITIAL]
    current = project.make("migration-current")
    assert current.returncode == 0 and INITIAL in current.stdout


def test_type_change_index_and_removed_column(project: Project) -> None:
    url = project.database_url
    migrate(project)
    project.edit(
        "app/models/book.py",
        "title: str = Field(min_length=1, max_length=255)",
        "title: str = Field(min_length=1, max_length=500)",
    )
    project.edit(
        "app/models/author.py",
        "name: str = Field(min_length=1, max_length=255)",
        "name: str = Field(min_length=1, max_length=255, index=True)",
    )
    text = generate(project, "longer titles and author index")
    assert "length=500" in text and 'op.f("ix_author_name")' in text
    migrate(project)
    assert pg.columns(url, "book")["title"]["character_maximum_length"] == 500
    assert "ix_author_name" in pg.indexes(url, "author")

    project.edit("app/models/book.py", "    title: str = Field(min_length=1, max_length=500)\n", "")
    project.edit(
        "app/models/book.py",
        "title: str = omittable(min_length=1, max_length=255)\n",
        "",
    )
    text = generate(project, "drop book title")
    assert 'op.drop_column("book", "title")' in text
    migrate(project)
    assert "title" not in pg.columns(url, "book")
    rollback(project)
    assert pg.columns(url, "book")["title"]["character_maximum_length"] == 500
    rollback(project)
    assert pg.columns(url, "book")["title"]["character_maximum_length"] == 255
    assert "ix_author_name" not in pg.indexes(url, "author")


def test_up_and_down_to_a_given_revision_and_stamp(project: Project) -> None:
    url = project.database_url
    add_author_field(project, "    born: int | None = None")
    migrate(project)
    generate(project, "add author born")
    migrate(project, f"rev={INITIAL}")
    assert pg.version(url) == [INITIAL]
    migrate(project, "rev=+1")
    second = pg.version(url)
    assert second != [INITIAL] and "born" in pg.columns(url, "author")
    rollback(project, f"rev={INITIAL}")
    assert pg.version(url) == [INITIAL] and "born" not in pg.columns(url, "author")
    rollback(project, "rev=base")
    assert pg.version(url) == [] and "author" not in pg.tables(url)

    stamped = project.make("migration-stamp", "rev=head")
    assert stamped.returncode == 0, stamped.output
    assert pg.version(url) == second
    assert "author" not in pg.tables(url), "stamp must not run DDL"
    project.make("migration-stamp", "rev=base")
    assert pg.version(url) == []


def test_usage_errors_change_nothing(project: Project) -> None:
    url = project.database_url
    migrate(project)
    before = project.versions()
    for target, wanted in (
        ("migration", "msg="),
        ("migration-stamp", "rev="),
        ("migration-empty", "msg="),
    ):
        result = project.make(target)
        assert result.returncode != 0
        [error] = result.errors()
        assert wanted in error, result.output
        assert "Traceback" not in result.output
    assert project.versions() == before
    assert pg.version(url) == [INITIAL]


def test_help_lists_every_target_with_a_description(project: Project) -> None:
    result = project.make()
    assert result.returncode == 0
    makefile = (project.root / "Makefile").read_text()
    targets = re.findall(r"^([a-z][a-z-]*):", makefile, re.M)
    described = re.findall(r"^([a-z][a-z-]*):.*## ", makefile, re.M)
    assert set(targets) == set(described), "every target needs a ## description"
    for target in (
        "migrate",
        "migration",
        "rollback",
        "migration-current",
        "migration-history",
        "migration-stamp",
        "start",
        "stop",
        "serve",
        "test",
    ):
        assert re.search(rf"^\s+{re.escape(target)}\s", result.stdout, re.M), target
