"""A history or a database in a state nobody meant: each case is one line naming the revision
or the file and what to do, never a traceback, and the database is left as it was."""

import asyncio

from tests.storage.safety_support import FORBIDDEN, head_of, session, write_revision
from tests.support import pg
from tests.support.project import VERSIONS, Project, Result


def one_error(result: Result, *phrases: str) -> str:
    assert result.returncode != 0, result.output
    assert FORBIDDEN not in result.output, result.output
    errors = result.errors()
    assert len(errors) == 1, result.output
    for phrase in phrases:
        assert phrase in result.output, result.output
    return errors[0]


def test_a_down_revision_pointing_nowhere(project: Project) -> None:
    base = head_of(project)
    path = write_revision(project, "b4d000000001", "0000deadbeef", "pass")
    try:
        for target in ("migrate", "migration-history", "migration-current"):
            one_error(project.make(target), "0000deadbeef")
        assert pg.version(project.database_url) in ([], [base])
    finally:
        path.unlink()


def test_an_applied_revision_deleted_from_the_middle(project: Project) -> None:
    base = head_of(project)
    first = write_revision(project, "b4d000000002", base, "op.execute('CREATE TABLE m1 (id int)')")
    second = write_revision(project, "b4d000000003", "b4d000000002", "pass")
    assert project.make("migrate").returncode == 0
    saved = first.read_text()
    first.unlink()
    try:
        for target in ("migrate", "migration-current", "rollback"):
            error = one_error(project.make(target))
            assert "b4d000000002" in error
        assert pg.version(project.database_url) == ["b4d000000003"]
    finally:
        first.write_text(saved)
        assert project.make("rollback", "rev=" + base).returncode == 0
        first.unlink()
        second.unlink()


def test_a_revision_importing_a_missing_module(project: Project) -> None:
    base = head_of(project)
    assert project.make("migrate").returncode == 0
    path = write_revision(project, "b4d000000004", base, "pass")
    path.write_text("import no_such_module_anywhere\n" + path.read_text())
    try:
        error = one_error(project.make("migrate"), "no_such_module_anywhere")
        assert "import" in error
        assert pg.version(project.database_url) == [base]
    finally:
        path.unlink()


def test_an_ambiguous_revision_prefix_lists_the_matches(project: Project) -> None:
    base = head_of(project)
    one = write_revision(project, "abc000000001", base, "pass")
    two = write_revision(project, "abc000000002", "abc000000001", "pass")
    try:
        error = one_error(project.make("migrate", "rev=abc0"))
        assert "abc000000001" in error and "abc000000002" in error
    finally:
        one.unlink()
        two.unlink()


async def test_a_locked_checksum_table_names_the_session_holding_it(project: Project) -> None:
    url = project.database_url
    base = head_of(project)
    assert project.make("migrate").returncode == 0
    write_revision(project, "b4d000000005", base, "op.execute('CREATE TABLE m5 (id int)')")
    project.env["MIGRATION_LOCK_TIMEOUT"] = "0.5"
    try:
        async with session(url) as holder:
            transaction = holder.transaction()
            await transaction.start()
            await holder.execute("LOCK TABLE alembic_checksum IN ACCESS EXCLUSIVE MODE")
            run = await asyncio.to_thread(project.make, "migrate")
            pid = holder.get_server_pid()
            await transaction.rollback()
        error = one_error(run, "alembic_checksum")
        assert f"pid {pid}" in error and "nothing was changed" in error
        assert pg.version(url) == [base]
        assert "m5" not in pg.tables(url)
    finally:
        (project.root / VERSIONS).joinpath("2099_01_01_0000-b4d000000005.py").unlink()
