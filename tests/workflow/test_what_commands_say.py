"""Each database command says what it did in one line: where (never the password), from which
revision to which, or that there was nothing to do; Alembic's INFO lines only with verbose=1."""

import re

from tests.support import pg
from tests.support.project import Project, Result

FIRST = "8ef2faae17b8 (create author and book)"


def where(project: Project) -> str:
    url = project.database_url
    return f"{url.username}@{url.host}:{url.port}/{url.database}"


def said(result: Result, project: Project) -> str:
    """The one line a command printed, checked: it succeeded, said nothing else, hid the
    password."""
    assert result.returncode == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    password = project.database_url.password
    assert not password or str(password) not in result.output
    assert lines[0].startswith(f"{where(project)}: "), lines
    return lines[0].removeprefix(f"{where(project)}: ")


def test_migrate_rollback_stamp_and_current_each_say_what_they_did(project: Project) -> None:
    assert said(project.make("migrate"), project) == f"upgraded from base to {FIRST} (1 step)"
    assert said(project.make("migrate"), project) == f"already at head: {FIRST}"

    written = project.make("migration-empty", "msg=add shelves")
    assert written.returncode == 0, written.output
    second = re.search(r"-add_shelves-([0-9a-f]{12})\.py", written.output)
    assert second is not None, written.output
    head = f"{second[1]} (add shelves)"
    assert said(project.make("migrate"), project) == f"upgraded from {FIRST} to {head} (1 step)"
    assert (
        said(project.make("migrate", "rev=8ef2faae17b8"), project)
        == f"already past 8ef2faae17b8: nothing to do (at {head})"
    )
    assert (
        said(project.make("rollback", "rev=base"), project)
        == f"rolled back from {head} to base (2 steps)"
    )
    assert said(project.make("rollback", "rev=base"), project) == "at base: nothing to roll back"
    assert said(project.make("migration-current"), project) == "at base (no revision applied)"
    assert (
        said(project.make("migration-stamp", "rev=head"), project)
        == f"stamped from base to {head} (1 step)"
    )
    assert said(project.make("migration-stamp", "rev=head"), project) == (
        f"already at {head}: nothing to do"
    )
    assert pg.version(project.database_url) == [second[1]]


def test_alembic_info_lines_only_with_verbose(project: Project) -> None:
    quiet = project.make("migrate")
    assert "INFO" not in quiet.output and "Running upgrade" not in quiet.output
    assert quiet.returncode == 0
    project.make("rollback")
    loud = project.make("migrate", "verbose=1")
    assert loud.returncode == 0, loud.output
    assert "INFO  [alembic.runtime.migration] Running upgrade  -> 8ef2faae17b8" in loud.output
    assert "upgraded from base" in loud.output


def test_make_migration_says_which_file_it_wrote_and_nothing_of_make_or_alembic(
    project: Project,
) -> None:
    assert project.make("migrate").returncode == 0
    project.edit(
        "app/models/author.py",
        "    id: int | None = Field(default=None, primary_key=True)\n",
        "    id: int | None = Field(default=None, primary_key=True)\n"
        "    born: int | None = Field(default=None)\n",
    )
    result = project.make("migration", "msg=add author born")
    assert result.returncode == 0, result.output
    lines = result.output.splitlines()
    assert re.fullmatch(r"wrote \d{4}_\d\d_\d\d_\d{6}-add_author_born-[0-9a-f]{12}\.py", lines[0])
    assert lines[1:] == [
        "warning: downgrade() drops column author.born and its data",
        "lint: the new revision is clean (squawk)",
        "wrote app/storage/schema.sql",
        "wrote docs/schema.md",
    ], result.output
    for noise in ("Running post write hook", "is up to date", "make[", "INFO", "Generating"):
        assert noise not in result.output
    loud = project.make("migration-empty", "msg=by hand", "verbose=1")
    assert loud.returncode == 0, loud.output
    assert "Running post write hook 'review' ..." in loud.output
    assert "Generating " in loud.output


def test_make_alembic_keeps_quoted_words_together(project: Project) -> None:
    result = project.make("alembic", "args=revision -m 'two words'")
    assert result.returncode == 0, result.output
    [created] = [path for path in project.versions() if "two_words" in path.name]
    assert created.read_text().startswith('"""two words\n')
    unbalanced = project.make("alembic", "args=revision -m 'two words")
    assert unbalanced.returncode != 0
    assert len(unbalanced.errors()) == 1 and "fix the quoting" in unbalanced.errors()[0]


def test_migrate_never_upgrades_a_database_it_did_not_build(project: Project) -> None:
    url = project.database_url
    pg.execute(url, "CREATE TABLE invoice (id int PRIMARY KEY)")
    refused = project.make("migrate")
    assert refused.returncode != 0
    [error] = refused.errors()
    assert f"{where(project)} has tables (public.invoice) but no migration history" in error
    assert "`make migration-stamp rev=head`" in error
    assert pg.tables(url) == {"invoice"}
