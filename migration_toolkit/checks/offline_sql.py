"""The SQL the revisions would run (`alembic upgrade --sql`), whole or cut per revision."""

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from migration_toolkit import history
from migration_toolkit.checks.connection import config_for
from migration_toolkit.errors import UserFacingError

_MARKER = re.compile(r"^-- Running upgrade (?P<down>.*) -> (?P<rev>\S+)$")
# Alembic's version-table statements, the table in any schema (version_table_schema).
_BOOKKEEPING = re.compile(
    r"^(?:CREATE TABLE|INSERT INTO|UPDATE|DELETE FROM|DROP TABLE) (?:\S+\.)?alembic_version\b"
)


@dataclass(frozen=True)
class RevisionSQL:
    revision: str
    sql: str


def upgrade_sql(revision_range: str = "base:heads") -> str:
    """Offline SQL for an upgrade range (`a:b`, or just `b` from base); no database needed."""
    buffer = io.StringIO()
    config = config_for()
    config.output_buffer = buffer
    with _quiet("alembic"):
        command.upgrade(config, revision_range, sql=True)
    return buffer.getvalue()


def downgrade_sql(revision_range: str) -> str:
    buffer = io.StringIO()
    config = config_for()
    config.output_buffer = buffer
    with _quiet("alembic"):
        command.downgrade(config, revision_range, sql=True)
    return buffer.getvalue()


def range_sql(revision_range: str = "base:heads") -> str:
    """`make migration-sql rev=a:b`: the upgrade from a to b, or the downgrade when b is older."""
    duplicated = history.duplicate_problem(ScriptDirectory.from_config(config_for()))
    if duplicated is not None:
        raise UserFacingError(duplicated)
    sql = upgrade_sql(revision_range)
    if "-- Running upgrade" in sql:
        return sql
    if ":" in revision_range:
        try:
            down = downgrade_sql(revision_range)
        except CommandError:
            down = ""
        if "-- Running downgrade" in down:
            return down
    raise UserFacingError(
        f"rev={revision_range} runs no revision: give a range such as "
        "8ef2faae17b8:head (upgrade) or head:8ef2faae17b8 (downgrade)"
    )


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    # After `make migration` configured logging, Alembic would narrate this run too.
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def split(sql: str) -> list[RevisionSQL]:
    """Each revision's own statements, inside the BEGIN/COMMIT it runs in.

    Alembic's version-table bookkeeping is left out: it is not the revision author's SQL.
    """
    blocks = [block.strip() for block in sql.split("\n\n") if block.strip()]
    preamble: list[str] = []
    chunks: list[tuple[str, list[str]]] = []
    for block in blocks:
        if _BOOKKEEPING.match(block):
            continue
        marker = _MARKER.match(block)
        if marker is None:
            (chunks[-1][1] if chunks else preamble).append(block)
            continue
        # The BEGIN before a marker opens that revision's transaction, not the previous one's.
        carried: list[str] = []
        if chunks and chunks[-1][1] and chunks[-1][1][-1] == "BEGIN;":
            carried = [chunks[-1][1].pop()]
        elif not chunks:
            carried, preamble = preamble, []
        chunks.append((marker.group("rev"), [*carried, block]))
    return [RevisionSQL(revision, "\n\n".join(body) + "\n") for revision, body in chunks]


def per_revision() -> dict[str, str]:
    """Every revision's SQL, by revision id, from one offline run of the whole history."""
    return {chunk.revision: chunk.sql for chunk in split(upgrade_sql())}
