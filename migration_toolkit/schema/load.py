"""A database from the schema snapshot, in about the time psql takes to load it.

psql loads the snapshot; Alembic's stamp (through env.py, so the checksum ledger is written
as for any stamp) records the head the snapshot was built at; the revisions written after
it, if any, are then upgraded one by one. Without a usable snapshot (none yet, or built at a
revision this checkout does not have) the revisions are replayed from base instead.
"""

import subprocess
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import URL, Connection

from migration_toolkit.checks.connection import config_for, idle, run_on
from migration_toolkit.config import current_project
from migration_toolkit.errors import UserFacingError
from migration_toolkit.schema import dump, snapshot


def psql_load(url: URL, path: Path) -> None:
    """psql -1 -f path into the database at url, stopping at the first error."""
    result = subprocess.run(
        [str(dump.binary("psql")), "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", str(path)],
        env=dump.libpq_env(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserFacingError(f"loading {path.name} failed: {last}")


def _usable(script: ScriptDirectory, heads: tuple[str, ...]) -> bool:
    if not heads:
        return False
    try:
        return all(script.get_revision(head) is not None for head in heads)
    except (CommandError, KeyError):
        return False


def build(url: URL, path: Path | None = None) -> str:
    """Bring the empty database at url to head; returns how: snapshot, snapshot+N, replay."""
    path = path or current_project().schema_file
    heads = snapshot.heads_of(path.read_text()) if path.is_file() else ()

    def work(connection: Connection) -> str:
        config = config_for(connection)
        script = ScriptDirectory.from_config(config)
        if not _usable(script, heads):
            command.upgrade(config, "heads")
            idle(connection)
            return "replay"
        psql_load(url, path)
        command.stamp(config, list(heads))
        idle(connection)
        if set(heads) == set(script.get_heads()):
            return "snapshot"
        later = {rev.revision for rev in script.iterate_revisions("heads", heads)}
        command.upgrade(config, "heads")
        idle(connection)
        return f"snapshot+{len(later - set(heads))}"

    return run_on(url, work)
