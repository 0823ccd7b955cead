"""Applied revisions are immutable: an edited or missing applied file stops `make migrate`."""

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from migration_toolkit.revisions import alembic_config
from migration_toolkit.run.checksums import CHECKSUM_TABLE, file_checksum
from tests.storage.safety_support import FORBIDDEN, head_of, write_revision
from tests.support import pg
from tests.support.project import Project


def recorded(url: URL) -> dict[str, tuple[str, str]]:
    rows = pg.fetch(url, f"SELECT revision, checksum, filename FROM {CHECKSUM_TABLE}")
    return {row["revision"]: (row["checksum"].strip(), row["filename"]) for row in rows}


def files_of(project: Project) -> dict[str, Path]:
    script = ScriptDirectory.from_config(alembic_config(project.root / "alembic.ini"))
    return {s.revision: Path(s.path) for s in script.walk_revisions() if s.path is not None}


def test_each_applied_revision_is_recorded_with_its_file_checksum(project: Project) -> None:
    url = project.database_url
    assert project.make("migrate").returncode == 0
    files = files_of(project)
    assert recorded(url) == {rev: (file_checksum(path), path.name) for rev, path in files.items()}
    # At head a run writes nothing: the rows are not even rewritten.
    query = f"SELECT revision, applied_at, xmin::text AS version FROM {CHECKSUM_TABLE}"
    before = sorted(map(tuple, pg.fetch(url, query)))
    assert project.make("migrate").returncode == 0
    assert sorted(map(tuple, pg.fetch(url, query))) == before


def test_an_edited_applied_revision_stops_migrate_until_accepted(project: Project) -> None:
    url = project.database_url
    base = head_of(project)
    assert project.make("migrate").returncode == 0
    edited = files_of(project)[base]
    edited.write_text(edited.read_text() + "\n# a later edit\n")
    write_revision(project, "c5000000000a", base, "op.execute('CREATE TABLE pending (id int)')")

    refused = project.make("migrate")
    assert refused.returncode != 0 and FORBIDDEN not in refused.output
    [error] = refused.errors()
    assert f"applied revision {base} was edited" in error
    assert edited.name in error
    assert "make migration msg=" in error
    assert f"make migrate accept-edited={base}" in error
    # Nothing ran: the pending revision waits until the edit is dealt with.
    assert pg.version(url) == [base]
    assert "pending" not in pg.tables(url)

    accepted = project.make("migrate", f"accept-edited={base}")
    assert accepted.returncode == 0, accepted.output
    assert f"accepted the edited file of applied revision {base}" in accepted.stderr
    assert recorded(url)[base][0] == file_checksum(edited)
    assert pg.version(url) == ["c5000000000a"]
    assert project.make("migrate").returncode == 0


def test_accepting_a_revision_that_is_not_applied_is_refused(project: Project) -> None:
    base = head_of(project)
    write_revision(project, "c5000000000b", base, "pass")
    result = project.make("migrate", "rev=" + base, "accept-edited=c5000000000b")
    assert result.returncode != 0 and FORBIDDEN not in result.output
    [error] = result.errors()
    assert "accept-edited=c5000000000b" in error and "not applied" in error
    assert pg.version(project.database_url) == []


def test_a_revision_applied_but_missing_from_versions_is_named(project: Project) -> None:
    url = project.database_url
    base = head_of(project)
    path = write_revision(project, "c5000000000c", base, "pass")
    assert project.make("migrate").returncode == 0
    path.unlink()
    result = project.make("migrate")
    assert result.returncode != 0 and FORBIDDEN not in result.output
    [error] = result.errors()
    assert "revision c5000000000c is applied to" in error
    assert "versions/ has no file for it" in error and path.name in error
    assert pg.version(url) == ["c5000000000c"]


def test_rolled_back_revisions_may_change_and_old_databases_are_adopted(project: Project) -> None:
    url = project.database_url
    base = head_of(project)
    path = write_revision(project, "c5000000000d", base, "pass")
    assert project.make("migrate").returncode == 0
    # Rolled back, it is no longer applied: editing it before re-applying is the normal loop.
    assert project.make("rollback").returncode == 0
    assert "c5000000000d" not in recorded(url)
    path.write_text(path.read_text() + "\n# reworked\n")
    # A database migrated before checksums existed gets them recorded on its next run.
    pg.execute(url, f"DROP TABLE {CHECKSUM_TABLE}")
    assert project.make("migrate").returncode == 0
    assert recorded(url)["c5000000000d"][0] == file_checksum(path)
    assert set(recorded(url)) == set(files_of(project))


def test_autogenerate_does_not_see_the_checksum_table(project: Project) -> None:
    assert project.make("migrate").returncode == 0
    before = project.versions()
    result = project.make("migration", "msg=nothing changed")
    assert result.returncode == 0, result.output
    assert project.new_versions(before) == []
    assert CHECKSUM_TABLE in pg.tables(project.database_url)


def test_the_ledger_follows_every_rollback_and_stamp_path(project: Project) -> None:
    """alembic_checksum lists exactly the applied revisions after each way of moving."""
    url = project.database_url
    base = head_of(project)
    write_revision(
        project,
        "c5000000001a",
        base,
        "op.execute('CREATE TABLE l1 (id int)')",
        "op.execute('DROP TABLE l1')",
    )
    write_revision(
        project,
        "c5000000001b",
        "c5000000001a",
        "op.execute('CREATE TABLE l2 (id int)')",
        "op.execute('DROP TABLE l2')",
    )

    def recorded() -> list[str]:
        return [
            r["revision"] for r in pg.fetch(url, "SELECT revision FROM alembic_checksum ORDER BY 1")
        ]

    assert project.make("migrate").returncode == 0
    assert recorded() == sorted([base, "c5000000001a", "c5000000001b"])
    assert project.make("rollback", "rev=base").returncode == 0
    assert recorded() == [] and pg.version(url) == []
    assert project.make("migrate").returncode == 0
    assert project.make("rollback", "rev=-2").returncode == 0
    assert recorded() == [base]
    assert project.make("migration-stamp", "rev=c5000000001b").returncode == 0
    assert recorded() == sorted([base, "c5000000001a", "c5000000001b"])
    assert project.make("migration-stamp", "rev=base").returncode == 0
    assert recorded() == []
    assert project.make("migration-stamp", "rev=c5000000001a").returncode == 0
    assert recorded() == sorted([base, "c5000000001a"])
    assert project.make("migrate").returncode == 0
    assert recorded() == sorted([base, "c5000000001a", "c5000000001b"])
