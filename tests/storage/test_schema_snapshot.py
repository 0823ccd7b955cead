"""The committed schema snapshot: byte-stable, what the revisions build, the test session's
database, and kept current by `make migration` and `make migration-check`."""

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection

from migration_toolkit.checks import snapshot as catalog
from migration_toolkit.checks.connection import config_for, run_on
from migration_toolkit.revisions import alembic_config
from migration_toolkit.run.checksums import file_checksum
from migration_toolkit.schema import dump, load, snapshot
from tests.storage.safety_support import head_of, write_revision
from tests.support import pg
from tests.support.project import PROJECT_ROOT, Project, copy_project

SCHEMA = PROJECT_ROOT / "app" / "storage" / "schema.sql"


def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def quiet(_line: str) -> None:
    pass


def test_the_snapshot_is_byte_stable_and_the_committed_one() -> None:
    first, second = snapshot.build(quiet), snapshot.build(quiet)
    assert first == second
    assert first == SCHEMA.read_text()
    assert snapshot.heads_of(first) == tuple(
        ScriptDirectory.from_config(alembic_config()).get_heads()
    )
    # Normalised: nothing that differs between runs, machines or server versions.
    for varying in ("\\restrict", "Dumped from", "Dumped by", "transaction_timeout", "OWNER TO"):
        assert varying not in first


def test_normalise_drops_what_varies() -> None:
    raw = (
        "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc123\n\n"
        "-- Dumped from database version 18.1\n-- Dumped by pg_dump version 18.1\n\n"
        "SET statement_timeout = 0;\nSET transaction_timeout = 0;\n\n\n\n"
        "CREATE TABLE public.t (\n    id integer\n);   \n\n"
        "--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc123\n"
    )
    assert dump.normalise(raw) == (
        "SET statement_timeout = 0;\n\nCREATE TABLE public.t (\n    id integer\n);\n"
    )


def test_the_session_database_is_the_snapshot_stamped_at_head(
    new_database: Callable[[], URL],
) -> None:
    loaded, replayed = new_database(), new_database()
    assert load.build(loaded) == "snapshot"
    pg.execute(replayed, "SELECT 1")
    assert run_on(replayed, snapshot.upgrade_to_heads)
    # Catalog for catalog what the revisions build, on this session's server (any version
    # the tests use: the snapshot loads into older ones too).
    assert catalog.differences(run_on(replayed, catalog.take), run_on(loaded, catalog.take)) == []
    script = ScriptDirectory.from_config(alembic_config())
    assert pg.version(loaded) == sorted(script.get_heads())
    # Stamped through Alembic and env.py: the checksum ledger is written as for any stamp.
    expected = {
        revision.revision: file_checksum(revision.path)
        for revision in script.walk_revisions()
        if revision.path
    }
    rows = pg.fetch(loaded, "SELECT revision, checksum FROM alembic_checksum")
    assert {row["revision"]: row["checksum"] for row in rows} == expected


def machinery(url: URL) -> dict[str, object]:
    """alembic_version and the checksum ledger: their definitions and rows (not the times)."""
    found: dict[str, object] = {}
    for table in ("alembic_version", "alembic_checksum"):
        found[f"{table} columns"] = pg.columns(url, table)
        found[f"{table} constraints"] = pg.constraints(url, table)
        found[f"{table} indexes"] = pg.indexes(url, table)
    found["versions"] = pg.version(url)
    found["ledger"] = sorted(
        tuple(row)
        for row in pg.fetch(url, "SELECT revision, checksum, filename FROM alembic_checksum")
    )
    return found


def test_the_fast_stamp_writes_what_alembics_stamp_writes(
    new_database: Callable[[], URL],
) -> None:
    fast, alembic_stamped = new_database(), new_database()
    assert load.build(fast) == "snapshot"
    load.psql_load(alembic_stamped, SCHEMA)

    def stamp(connection: Connection) -> None:
        command.stamp(config_for(connection), "heads")

    run_on(alembic_stamped, stamp)
    assert machinery(fast) == machinery(alembic_stamped)
    ledger = machinery(fast)["ledger"]
    assert isinstance(ledger, list) and len(ledger) == len(list(script().walk_revisions()))


def test_no_usable_snapshot_means_a_replay(new_database: Callable[[], URL], tmp_path: Path) -> None:
    stale = tmp_path / "schema.sql"
    stale.write_text(snapshot.header(["0123456789ab"]) + "CREATE TABLE nonsense (id int);\n")
    url = new_database()
    assert load.build(url, stale) == "replay"
    assert "nonsense" not in pg.tables(url)
    assert pg.version(url) == sorted(ScriptDirectory.from_config(alembic_config()).get_heads())


@pytest.fixture
def scratch(tmp_path: Path, new_database: Callable[[], URL]) -> Project:
    return Project(root=copy_project(tmp_path / "project"), database_url=new_database())


def test_a_fresh_clone_builds_the_same_bytes(scratch: Project) -> None:
    result = scratch.make("migration-snapshot")
    assert result.returncode == 0, result.output
    assert "app/storage/schema.sql is current" in result.stderr
    assert "docs/schema.md is current" in result.stderr
    assert (scratch.root / "app/storage/schema.sql").read_bytes() == SCHEMA.read_bytes()


def test_make_migration_rewrites_it_and_the_check_holds_it_to_the_revisions(
    scratch: Project, new_database: Callable[[], URL]
) -> None:
    path = scratch.root / "app/storage/schema.sql"
    assert scratch.make("migrate").returncode == 0
    scratch.edit(
        "app/models/author.py",
        "    id: int | None = Field(default=None, primary_key=True)\n",
        "    id: int | None = Field(default=None, primary_key=True)\n"
        "    email: str | None = Field(default=None, max_length=320)\n",
    )
    generated = scratch.make("migration", "msg=add author email")
    assert generated.returncode == 0, generated.output
    assert "wrote app/storage/schema.sql" in generated.stderr
    assert "email character varying(320)" in path.read_text()
    assert f"-- Head: {head_of(scratch)}" in path.read_text()
    assert "VARCHAR(320) email" in (scratch.root / "docs/schema.md").read_text()
    checked = scratch.make("migration-check")
    assert checked.returncode == 0, checked.output

    # A revision written by hand, without the snapshot: the check fails with the diff.
    before = path.read_text()
    write_revision(
        scratch,
        "5a5a5a5a5a5a",
        head_of(scratch),
        'op.execute("CREATE TABLE audit_note (id integer PRIMARY KEY)")',
        'op.execute("DROP TABLE audit_note")',
    )
    checked = scratch.make("migration-check")
    assert checked.returncode != 0
    assert "+CREATE TABLE public.audit_note (" in checked.stderr
    assert "+-- Head: 5a5a5a5a5a5a" in checked.stderr
    assert (
        "app/storage/schema.sql is out of date (diff above): run `make migration-snapshot` and "
        "commit the result" in checked.output
    )
    assert "Traceback" not in checked.output
    assert path.read_text() == before  # the check never writes

    # The test session catches up from an old snapshot: load it, then upgrade what follows.
    caught_up = scratch.run(
        sys.executable,
        "-c",
        "import sys; from sqlalchemy import make_url; from migration_toolkit.schema import load; "
        "print(load.build(make_url(sys.argv[1])))",
        new_database().render_as_string(hide_password=False),
    )
    assert caught_up.returncode == 0, caught_up.output
    assert caught_up.stdout.strip() == "snapshot+1"

    written = scratch.make("migration-snapshot")
    assert written.returncode == 0, written.output
    assert "CREATE TABLE public.audit_note (" in path.read_text()
    # Only the drift is left (audit_note has no model): the snapshot is current again.
    rechecked = scratch.make("migration-check")
    assert "table audit_note: created by the migrations, no model declares it" in rechecked.stderr
    assert "schema.sql" not in rechecked.output


def test_the_graph_is_read_from_the_files_or_left_to_alembic(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    config = Config()
    config.set_main_option("script_location", str(tmp_path))

    def write(name: str, text: str) -> None:
        (versions / f"{name}.py").write_text(text)

    write("a", 'revision: str = "aaa"\ndown_revision: str | None = None\n')
    write("b", "revision = 'bbb'\ndown_revision = 'aaa'  # the first\n")
    write("c", 'revision = "ccc"\ndown_revision = "aaa"\n')
    write("m", 'revision = "mmm"\ndown_revision = ("bbb", "ccc")\n')
    graph = load.read_graph(config)
    assert graph is not None and load.heads(graph) == ("mmm",)
    assert graph["mmm"].down == ("bbb", "ccc")
    write("x", "revision = make_id()\ndown_revision = 'mmm'\n")
    assert load.read_graph(config) is None  # not a literal: Alembic's map decides
