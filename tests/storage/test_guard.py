"""APP_ENV=production: rollback and stamp show what they undo and run only when confirmed."""

import os
import pty
import subprocess

from tests.storage.safety_support import FORBIDDEN, head_of
from tests.support import pg
from tests.support.project import Project, Result


def production(project: Project) -> str:
    assert project.make("migrate").returncode == 0
    project.env["APP_ENV"] = "production"
    return head_of(project)


def at_a_terminal(project: Project, typed: str, *args: str) -> Result:
    """Run make with a terminal as stdin, typing `typed` at the prompt."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, typed.encode() + b"\n")
        completed = subprocess.run(
            ["make", "--no-print-directory", *args],
            cwd=project.root,
            env=project.environment(),
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    return Result(list(args), completed.returncode, completed.stdout, completed.stderr)


def assert_refused(result: Result) -> str:
    assert result.returncode != 0
    assert FORBIDDEN not in result.output
    [error] = result.errors()
    return error


def test_rollback_shows_what_it_undoes_and_needs_the_revision_id(project: Project) -> None:
    url = project.database_url
    head = production(project)
    tables = pg.tables(url)

    shown = project.make("rollback")
    error = assert_refused(shown)
    assert f"make rollback rev=-1 confirm={head}:base" in error
    # What it will undo: the revision id, its message, and the downgrade SQL (offline mode).
    assert f"undoes:\n  {head}  " in shown.stdout
    assert "SQL (offline mode, for review):" in shown.stdout
    assert f"DELETE FROM alembic_version WHERE alembic_version.version_num = '{head}'" in (
        shown.stdout
    )
    assert pg.version(url) == [head] and pg.tables(url) == tables

    wrong = project.make("rollback", "confirm=8ef2faae17b7")
    assert "does not match this change" in assert_refused(wrong)
    assert pg.version(url) == [head] and pg.tables(url) == tables

    # A confirmation names both ends: the one for another change does not do.
    other = project.make("rollback", f"confirm={head}:0000000000aa")
    assert "does not match this change" in assert_refused(other)
    confirmed = project.make("rollback", f"confirm={head}:base")
    assert confirmed.returncode == 0, confirmed.output
    assert pg.version(url) != [head]


def test_typing_yes_at_a_terminal_confirms(project: Project) -> None:
    url = project.database_url
    head = production(project)
    declined = at_a_terminal(project, "no", "rollback")
    assert "Type yes to change" in declined.stderr
    assert "not confirmed" in assert_refused(declined)
    assert pg.version(url) == [head]

    accepted = at_a_terminal(project, "yes", "rollback")
    assert accepted.returncode == 0, accepted.output
    assert pg.version(url) != [head]


def test_stamp_and_rollback_to_a_revision_are_guarded_too(project: Project) -> None:
    url = project.database_url
    head = production(project)
    tables = pg.tables(url)

    to_base = project.make("rollback", "rev=base")
    assert f"make rollback rev=base confirm={head}:base" in assert_refused(to_base)
    assert "DROP TABLE author" in to_base.stdout
    stamp = project.make("migration-stamp", "rev=base")
    assert f"make migration-stamp rev=base confirm={head}:base" in assert_refused(stamp)
    assert pg.version(url) == [head] and pg.tables(url) == tables

    stamped = project.make("migration-stamp", "rev=base", f"confirm={head}:base")
    assert stamped.returncode == 0, stamped.output
    # A stamp moves alembic_version only; the schema stays.
    assert pg.version(url) == [] and pg.tables(url) == tables

    upwards = project.make("migration-stamp", "rev=head")
    assert f"make migration-stamp rev=head confirm=base:{head}" in assert_refused(upwards)
    assert f"records as applied, without running them:\n  {head}  " in upwards.stdout
    assert pg.version(url) == []


def test_in_development_rollback_stays_one_command(project: Project) -> None:
    url = project.database_url
    head = head_of(project)
    assert project.make("migrate").returncode == 0
    result = project.make("rollback")
    assert result.returncode == 0, result.output
    assert "APP_ENV=production" not in result.output
    assert pg.version(url) != [head]


def test_alembic_run_directly_is_guarded_like_make(project: Project) -> None:
    """`uv run alembic downgrade -1` takes the same path through env.py as `make rollback`."""
    url = project.database_url
    head = production(project)
    tables = pg.tables(url)
    for args in (("downgrade", "-1"), ("stamp", "base"), ("downgrade", "base")):
        refused = project.run("uv", "run", "--no-sync", "alembic", *args)
        error = assert_refused(refused)
        assert "needs confirmation" in error and f"-x confirm={head}:base" in error
        assert pg.version(url) == [head] and pg.tables(url) == tables
    confirmed = project.run(
        "uv", "run", "--no-sync", "alembic", "-x", f"confirm={head}:base", "downgrade", "-1"
    )
    assert confirmed.returncode == 0, confirmed.output
    assert pg.version(url) == []
    assert f"rolled back from {head} (" in confirmed.output
    assert "to base (1 step)" in confirmed.output
