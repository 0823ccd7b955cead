"""A database from the schema snapshot, in about the time psql takes to load it.

The usual case, the snapshot built at the head(s) of versions/: one psql run loads the
snapshot and records the stamp, alembic_version at those heads and the checksum ledger of
every revision file, as Alembic's stamp through env.py would. The revision graph is read from
the files' `revision` / `down_revision` lines (Alembic itself would execute every file to
build it, which costs more than psql as the history grows). Otherwise, when a file cannot be
read that way or the snapshot is behind versions/, psql loads the snapshot, Alembic stamps its
head through env.py and upgrades the revisions written after it; without a usable snapshot
(none yet, or built at a revision this checkout does not have) the revisions are replayed.
"""

import ast
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.ddl.postgresql import PostgresqlImpl
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL, Connection
from sqlalchemy.schema import CreateTable

from migration_toolkit.checks.connection import config_for, idle, run_on
from migration_toolkit.config import current_project
from migration_toolkit.errors import UserFacingError
from migration_toolkit.revisions import VERSION_TABLE
from migration_toolkit.run.checksums import checksum_of, ledger_sql
from migration_toolkit.schema import dump, snapshot

# `revision = "abc"` and `down_revision = ...` as Alembic's templates write them.
_ASSIGNMENT = re.compile(
    r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*(?:#.*)?$", re.MULTILINE
)


@dataclass(frozen=True)
class Revision:
    revision: str
    down: tuple[str, ...]
    path: Path
    checksum: str


def psql_load(url: URL, path: Path, then: str = "") -> None:
    """psql -1 -f path (then the SQL `then`) into the database at url, one transaction,
    stopping at the first error."""
    extra = ["-f", "-"] if then else []
    result = subprocess.run(
        [
            str(dump.binary("psql")),
            *("-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", str(path), *extra),
        ],
        input=then,
        env=dump.libpq_env(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserFacingError(f"loading {path.name} failed: {last}")


def _ids(value: str) -> tuple[str, ...] | None:
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return None
    if parsed is None:
        return ()
    if isinstance(parsed, str):
        return (parsed,)
    if isinstance(parsed, tuple | list) and all(isinstance(item, str) for item in parsed):
        return tuple(parsed)
    return None


def read_graph(config: Config) -> dict[str, Revision] | None:
    """versions/ as revision -> Revision, read without executing a file; None when any file
    is written another way (Alembic's map then decides)."""
    if config.get_main_option("version_locations"):
        return None
    location = config.get_main_option("script_location")
    versions = Path(location or "") / "versions"
    if not location or not versions.is_dir():
        return None
    graph: dict[str, Revision] = {}
    for path in sorted(versions.glob("*.py")):
        text = path.read_bytes()
        found: dict[str, str] = {
            match.group(1): match.group(2)
            for match in _ASSIGNMENT.finditer(text.decode("utf-8", "replace"))
        }
        revision = _ids(found.get("revision", ""))
        down = _ids(found.get("down_revision", ""))
        if not revision or len(revision) != 1 or down is None or revision[0] in graph:
            return None
        graph[revision[0]] = Revision(revision[0], down, path, checksum_of(text))
    return graph


def heads(graph: dict[str, Revision]) -> tuple[str, ...]:
    below = {down for revision in graph.values() for down in revision.down}
    return tuple(sorted(set(graph) - below))


def stamp_sql(graph: dict[str, Revision], at: tuple[str, ...], schema: str | None) -> str:
    """What stamping `at` writes when every revision in graph is applied: Alembic's version
    table (its own definition, PostgresqlImpl.version_table_impl) and our checksum ledger."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    impl = PostgresqlImpl(dialect, None, True, None, None, {})
    table = impl.version_table_impl(
        version_table=VERSION_TABLE, version_table_schema=schema, version_table_pk=True
    )
    name = f"{schema}.{VERSION_TABLE}" if schema else VERSION_TABLE
    rows = ", ".join(f"('{head}')" for head in at)
    ledger = ledger_sql((item.revision, item.checksum, item.path.name) for item in graph.values())
    return (
        "RESET search_path;\n"
        f"{str(CreateTable(table).compile(dialect=dialect)).strip()};\n"
        f"INSERT INTO {name} (version_num) VALUES {rows};\n"
        f"{ledger}"
    )


def _usable(script: ScriptDirectory, at: tuple[str, ...]) -> bool:
    if not at:
        return False
    try:
        return all(script.get_revision(head) is not None for head in at)
    except (CommandError, KeyError):
        return False


def build(url: URL, path: Path | None = None) -> str:
    """Bring the empty database at url to head; returns how: snapshot, snapshot+N, replay."""
    project = current_project()
    path = path or project.schema_file
    at = snapshot.heads_of(path.read_text()) if path.is_file() else ()
    graph = read_graph(config_for()) if at else None
    if graph is not None and heads(graph) == at:
        psql_load(url, path, then=stamp_sql(graph, at, project.version_table_schema))
        return "snapshot"

    def work(connection: Connection) -> str:
        config = config_for(connection)
        script = ScriptDirectory.from_config(config)
        if not _usable(script, at):
            command.upgrade(config, "heads")
            idle(connection)
            return "replay"
        psql_load(url, path)
        command.stamp(config, list(at))
        idle(connection)
        later = {rev.revision for rev in script.iterate_revisions("heads", at)} - set(at)
        command.upgrade(config, "heads")
        idle(connection)
        return f"snapshot+{len(later)}" if later else "snapshot, stamped by Alembic"

    return run_on(url, work)
