"""Applied revisions are immutable: each applied revision file's checksum, kept in the database.

A table of our own beside alembic_version records the sha256 of every applied revision's
file. `make migrate` refuses to run when one of those files changed since, or when the
database is at a revision whose file is gone. `make migrate accept-edited=<rev>` records the
new checksum for the rare deliberate edit (a comment, a typo in a docstring).
"""

import hashlib
import os
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic.runtime.migration import MigrationInfo
from alembic.script import Script, ScriptDirectory
from sqlalchemy import String, text
from sqlalchemy.engine import Connection

from migration_toolkit.config import current_project
from migration_toolkit.errors import UserFacingError
from migration_toolkit.revisions import (
    VERSION_TABLE,
    bookkeeping_schema,
    qualified,
    replaced_by,
    squash_replacing,
)
from migration_toolkit.run.simple_query import SIMPLE

CHECKSUM_TABLE = "alembic_checksum"


@lru_cache
def _sql(schema: str | None) -> dict[str, str]:
    """The ledger's statements, its tables in the bookkeeping schema."""
    versions, checksums = qualified(VERSION_TABLE, schema), qualified(CHECKSUM_TABLE, schema)
    return {
        "probe": (
            f"SELECT to_regclass('{versions}') IS NOT NULL, to_regclass('{checksums}') IS NOT NULL"
        ),
        # One query reads both tables: the whole cost of the check at head.
        "read both": (
            f"SELECT 'head', version_num, NULL, NULL FROM {versions} "
            f"UNION ALL SELECT 'sum', revision, checksum, filename FROM {checksums}"
        ),
        "read heads": f"SELECT 'head', version_num, NULL, NULL FROM {versions}",
        "create": (
            f"CREATE TABLE IF NOT EXISTS {checksums} ("
            "revision varchar(32) NOT NULL, checksum char(64) NOT NULL, filename text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now(), "
            f"CONSTRAINT pk_{CHECKSUM_TABLE} PRIMARY KEY (revision))"
        ),
        # Literal values, not parameters: each write goes to Postgres as one simple query
        # (simple_query.py) inside the revision's transaction, not as a prepare and an execute.
        "upsert": (
            f"INSERT INTO {checksums} (revision, checksum, filename) VALUES {{rows}} "
            "ON CONFLICT (revision) DO UPDATE SET checksum = EXCLUDED.checksum, "
            "filename = EXCLUDED.filename, applied_at = now()"
        ),
        "delete": f"DELETE FROM {checksums} WHERE revision IN ({{revisions}})",
    }


def sql(name: str) -> str:
    return _sql(bookkeeping_schema())[name]


def ledger_sql(rows: Iterable[tuple[str, str, str]]) -> str:
    """The ledger as plain SQL (revision, checksum, file name rows): what the steps of a run
    would write, for a database built without one (the test session's, from the snapshot)."""
    values = ", ".join(
        "(" + ", ".join("'" + value.replace("'", "''") + "'" for value in row) + ")" for row in rows
    )
    create = sql("create") + ";\n"
    return create + (sql("upsert").format(rows=values) + ";\n" if values else "")


class EditedRevisionError(UserFacingError):
    """The file of an applied revision changed since it was applied."""


class MissingRevisionError(UserFacingError):
    """The database is at a revision that versions/ does not have."""


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Autogenerate hook: our table is the migration machinery's, not a model's."""
    return not (type_ == "table" and name == CHECKSUM_TABLE)


def file_checksum(path: str | Path) -> str:
    return checksum_of(Path(path).read_bytes())


def checksum_of(content: bytes) -> str:
    # Line endings are normalised so a Windows checkout (autocrlf) is not an "edit".
    return hashlib.sha256(content.replace(b"\r\n", b"\n")).hexdigest()


def shown_path(path: str | Path) -> str:
    absolute = Path(path).resolve()
    try:
        return str(absolute.relative_to(current_project().root))
    except (ValueError, UserFacingError):
        return os.fspath(path)


@dataclass(frozen=True)
class Recorded:
    checksum: str
    filename: str


@dataclass
class DatabaseState:
    """alembic_version and our checksums, as read at the start of a run."""

    heads: tuple[str, ...]
    recorded: dict[str, Recorded] = field(default_factory=dict)
    has_checksum_table: bool = False


def read_state(connection: Connection) -> DatabaseState:
    has_versions, has_checksums = connection.execute(text(sql("probe"))).one()
    if not has_versions:
        return DatabaseState(heads=(), has_checksum_table=bool(has_checksums))
    rows = connection.execute(text(sql("read both" if has_checksums else "read heads"))).all()
    return DatabaseState(
        heads=tuple(sorted(row[1] for row in rows if row[0] == "head")),
        recorded={row[1]: Recorded(row[2], row[3]) for row in rows if row[0] == "sum"},
        has_checksum_table=bool(has_checksums),
    )


def applied_revisions(script: ScriptDirectory, heads: Iterable[str]) -> set[str]:
    """Every revision at or below the heads: what the database has applied."""
    heads = tuple(heads)
    if not heads:
        return set()
    return {revision.revision for revision in script.iterate_revisions(heads, "base")}


def _script(script: ScriptDirectory, revision: str) -> Script | None:
    try:
        return script.get_revision(revision)
    except Exception:
        return None


def check_map(script: ScriptDirectory, state: DatabaseState, where: str) -> None:
    """Build the revision map, naming the revision whose file is gone when it cannot be."""
    try:
        _ = script.revision_map.heads
    except KeyError as exc:
        # Alembic's map raises KeyError for a down_revision without a file.
        missing = str(exc.args[0]) if exc.args else "?"
        if missing in state.recorded or missing in state.heads:
            raise missing_revision(missing, state.recorded.get(missing), where) from None
        raise MissingRevisionError(
            f"revision {missing} is some revision's down_revision but versions/ has no file "
            "for it: restore the file, or point that down_revision at an existing revision"
        ) from None


def check_heads_exist(script: ScriptDirectory, state: DatabaseState, where: str) -> None:
    check_map(script, state, where)
    for head in state.heads:
        if _script(script, head) is None:
            raise squashed_away(script, head, where) or missing_revision(
                head, state.recorded.get(head), where
            )


def squashed_away(script: ScriptDirectory, revision: str, where: str) -> UserFacingError | None:
    """The error for a database at a revision a squash replaced (it is before the squash's
    own id, so the squash cannot continue from it); None if no squash replaced it."""
    squash = squash_replacing(script, revision)
    if squash is None:
        return None
    shown = shown_path(squash.path) if squash.path else squash.revision
    return MissingRevisionError(
        f"{where} is at revision {revision}, which squash {squash.revision} ({shown}) replaced: "
        f"upgrade it to {squash.revision} with a checkout from before the squash "
        f"(`git log -- {shown}` finds it), then run `make migrate` here; nothing was changed"
    )


def squashed(script: ScriptDirectory, state: DatabaseState) -> list[str]:
    """Applied revisions now squashed: their recorded checksum is of the file the squash
    replaced (another file name), not an edit of the squash."""
    found = []
    for revision in sorted(applied_revisions(script, state.heads) & state.recorded.keys()):
        script_ = _script(script, revision)
        if script_ is None or script_.path is None or not replaced_by(script_):
            continue
        if state.recorded[revision].filename != Path(script_.path).name:
            found.append(revision)
    return found


def missing_revision(revision: str, recorded: Recorded | None, where: str) -> MissingRevisionError:
    was = f" (its file was {recorded.filename})" if recorded else ""
    return MissingRevisionError(
        f"revision {revision} is applied to {where} but versions/ has no file for it{was}: "
        "restore the file from version control or check out the branch that added it; "
        "`make migration-history` lists the revisions this checkout has"
    )


def verify(
    script: ScriptDirectory, state: DatabaseState, accept: Collection[str], where: str
) -> list[str]:
    """Fail on an edited applied revision; return the edited ones the user accepted."""
    check_heads_exist(script, state, where)
    accepted = {_resolve(script, revision) for revision in accept}
    applied = applied_revisions(script, state.heads)
    for revision in sorted(accepted - applied):
        raise UserFacingError(
            f"accept-edited={revision}: revision {revision} is not applied to {where}, "
            "so there is nothing to accept: drop accept-edited"
        )
    edited: list[str] = []
    renewed = set(squashed(script, state))
    for revision in sorted((applied & state.recorded.keys()) - renewed):
        found = _script(script, revision)
        assert found is not None and found.path is not None  # applied ones are in the map
        if file_checksum(found.path) != state.recorded[revision].checksum:
            edited.append(revision)
    refused = [revision for revision in edited if revision not in accepted]
    if refused:
        files = ", ".join(shown_path(_path(script, revision)) for revision in refused)
        raise EditedRevisionError(
            f"applied revision {', '.join(refused)} was edited since it was applied to "
            f"{where} ({files}): undo the edit (`git diff`/`git restore` that file) and put "
            f"the change in a new revision with `make migration msg=...`; if the edit is "
            f"deliberate and changes nothing already applied, run "
            f"`make migrate accept-edited={','.join(refused)}`"
        )
    return [revision for revision in edited if revision in accepted]


def _resolve(script: ScriptDirectory, revision: str) -> str:
    found = _script(script, revision)
    if found is None:
        raise UserFacingError(
            f"accept-edited={revision} names no revision in versions/: "
            "`make migration-history` lists them"
        )
    return found.revision


def _path(script: ScriptDirectory, revision: str) -> str:
    found = script.get_revision(revision)
    assert found is not None and found.path is not None
    return found.path


class Ledger:
    """Keeps the checksum table equal to the applied revisions, step by step.

    Each write runs inside the revision's own transaction, so it commits or rolls back with it.
    The applied set is walked from the heads once, then moved by each step's revision ids:
    walking the whole chain after every step made a long upgrade quadratic.
    """

    def __init__(self, script: ScriptDirectory, state: DatabaseState) -> None:
        self.script = script
        self.recorded = dict(state.recorded)
        self.has_table = state.has_checksum_table
        self.applied: set[str] | None = None

    def write(self, connection: Connection, revisions: Iterable[str]) -> None:
        revisions = sorted(set(revisions))
        if not revisions:
            return
        if not self.has_table:
            connection.execute(text(sql("create")))
            self.has_table = True
        paths = [_path(self.script, revision) for revision in revisions]
        checksums = [file_checksum(path) for path in paths]
        filenames = [Path(path).name for path in paths]
        quote = _quoter(connection)
        rows = ", ".join(
            f"({quote(revision)}, {quote(checksum)}, {quote(filename)})"
            for revision, checksum, filename in zip(revisions, checksums, filenames, strict=True)
        )
        _execute_simple(connection, sql("upsert").format(rows=rows))
        for revision, checksum, filename in zip(revisions, checksums, filenames, strict=True):
            self.recorded[revision] = Recorded(checksum, filename)

    def applied_at(self, heads: Iterable[str]) -> set[str]:
        """What the database has applied, walked from heads (kept for the steps that follow)."""
        self.applied = applied_revisions(self.script, heads)
        return self.applied

    def unrecorded(self, heads: Iterable[str]) -> set[str]:
        """Applied revisions without a checksum (applied before this table, or with --sql)."""
        return self.applied_at(heads) - self.recorded.keys()

    def sync(
        self,
        connection: Connection,
        heads: Iterable[str],
        fresh: Iterable[str],
        step: MigrationInfo | None = None,
    ) -> None:
        """After a step: forget undone revisions, record new ones (fresh: re-record)."""
        applied = self._applied_after(heads, step)
        gone = sorted(self.recorded.keys() - applied)
        if gone and self.has_table:
            quote = _quoter(connection)
            _execute_simple(
                connection, sql("delete").format(revisions=", ".join(quote(rev) for rev in gone))
            )
        for revision in gone:
            del self.recorded[revision]
        self.write(connection, (applied - self.recorded.keys()) | (set(fresh) & applied))

    def _applied_after(self, heads: Iterable[str], step: MigrationInfo | None) -> set[str]:
        if step is None or step.is_stamp or self.applied is None:
            # A stamp may move over many revisions at once: walk the chain again.
            return self.applied_at(heads)
        if step.is_upgrade:
            self.applied.update(step.up_revision_ids)
        else:
            # A downgrade step undoes its upper revision; the ones below stay applied.
            self.applied.difference_update(step.up_revision_ids)
        return self.applied


def _quoter(connection: Connection) -> Callable[[str], str]:
    """SQLAlchemy's own literal rendering of a string for this dialect (quotes doubled)."""
    quote: Callable[[str], str] = String().literal_processor(connection.dialect)  # type: ignore[no-untyped-call]
    return quote


def _execute_simple(connection: Connection, sql: str) -> None:
    # Driver SQL, not text(): a file name is never read as a `:bind` parameter.
    connection.exec_driver_sql(sql, execution_options={SIMPLE: True})
