"""The statements the pending revisions will run, from Alembic's offline SQL.

Which revisions are pending is read from the database (its alembic_version); their SQL from
`alembic upgrade --sql` cut per revision (checks/offline_sql.py), which the online helpers
emit too (CONCURRENTLY, NOT VALID, VALIDATE, each in its autocommit block, a backfill as one
tagged UPDATE). Each statement keeps the comments before it and knows its transaction:
BEGIN ... COMMIT around a revision, or its own one inside an autocommit block.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from pglast import ast, parse_sql
from pglast.parser import ParseError

from migration_toolkit.checks.connection import config_for
from migration_toolkit.checks.offline_sql import per_revision
from migration_toolkit.errors import UserFacingError


@dataclass(frozen=True)
class Statement:
    revision: str
    sql: str  # with the comments that precede it (a helper's tag)
    node: ast.Node | None  # None when Postgres's parser refuses it
    in_transaction: bool
    group: int  # statements of one group run in one transaction
    error: str | None = None


@dataclass(frozen=True)
class Revision:
    revision: str
    doc: str
    path: str
    statements: tuple[Statement, ...]


def pending(script: ScriptDirectory, applied: Sequence[str]) -> list[str]:
    """Revisions not applied to a database at `applied`, oldest first."""
    done: set[str] = set()
    if applied:
        done = {found.revision for found in script.iterate_revisions(tuple(applied), "base")}
    ordered = [found.revision for found in reversed(list(script.walk_revisions()))]
    return [revision for revision in ordered if revision not in done]


class Groups:
    """Transaction groups: one per BEGIN ... COMMIT, one per statement outside of them."""

    def __init__(self) -> None:
        self.next = 0
        self.open: int | None = None

    def begin(self) -> None:
        self.next += 1
        self.open = self.next

    def commit(self) -> None:
        self.open = None

    def place(self) -> tuple[bool, int]:
        if self.open is not None:
            return True, self.open
        self.next += 1
        return False, self.next


def statements(revision: str, sql: str, groups: Groups) -> list[Statement]:
    try:
        parsed = parse_sql(sql)
    except ParseError as exc:
        in_transaction, group = groups.place()
        return [Statement(revision, sql.strip(), None, in_transaction, group, str(exc))]
    found: list[Statement] = []
    start = 0
    for raw in parsed:
        end = (raw.stmt_location or 0) + (raw.stmt_len or len(sql))
        text = sql[start:end].strip()
        start = end + 1
        node = raw.stmt
        if isinstance(node, ast.TransactionStmt):
            kind = getattr(node.kind, "name", "")
            if kind in {"TRANS_STMT_BEGIN", "TRANS_STMT_START"}:
                groups.begin()
            elif kind in {"TRANS_STMT_COMMIT", "TRANS_STMT_ROLLBACK"}:
                groups.commit()
            continue
        lines = [line for line in text.splitlines() if not line.startswith("-- Running ")]
        in_transaction, group = groups.place()
        found.append(Statement(revision, "\n".join(lines).strip(), node, in_transaction, group))
    return found


def pending_revisions(applied: Sequence[str]) -> list[Revision]:
    """The pending revisions of the project, each with its statements, oldest first."""
    script = ScriptDirectory.from_config(config_for())
    todo = pending(script, applied)
    if not todo:
        return []
    try:
        sql = per_revision()
    except Exception as exc:
        raise UserFacingError(
            f"the revisions' SQL cannot be produced offline ({type(exc).__name__}: {exc}): "
            "a revision that reads the database in upgrade() must check "
            "`op.get_context().as_sql` first"
        ) from None
    groups = Groups()
    revisions = []
    for revision in todo:
        found = script.get_revision(revision)
        path = Path(found.path).name if found is not None and found.path else "?"
        doc = found.doc if found is not None and found.doc else ""
        listed = statements(revision, sql.get(revision, ""), groups)
        revisions.append(Revision(revision, doc, path, tuple(listed)))
    return revisions
