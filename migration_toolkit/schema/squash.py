"""`make migration-squash rev=<id>`: the revisions from base to <id> become one, proven equal.

The squashed revision keeps the id <id>, so the revisions after it, and every database at <id>
or later, need no change; it lists the ids it replaces in `replaces` (as Django's squashed
migrations do). Its upgrade is pg_dump's schema of a database the old chain built, one
statement at a time; its downgrade drops what that created.

The proof, on throwaway databases, before anything is written: the old chain and the squashed
revision build the same catalog at <id> (checks/snapshot.py, catalog for catalog); the
squash's downgrade leaves an empty database; and the revisions after <id> build the same schema
on top of either (catalog and pg_dump alike). A difference, or a table the old chain fills
with rows (a schema dump would lose them), refuses the squash and nothing is written.

A database at a revision before <id> cannot go on: the runner refuses it in one line naming
the squash (checksums.check_heads_exist), and leaves it as it is.
"""

import difflib
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection

from migration_toolkit.autogen.write_hook import problem as file_problem
from migration_toolkit.checks import snapshot as catalog
from migration_toolkit.checks.connection import config_for, idle, run_on
from migration_toolkit.config import current_project
from migration_toolkit.errors import UserFacingError
from migration_toolkit.local import throwaway
from migration_toolkit.revisions import VERSION_TABLE, replaced_by
from migration_toolkit.run.checksums import CHECKSUM_TABLE
from migration_toolkit.schema import diagrams, dump, statements
from migration_toolkit.schema import snapshot as schema_file

Say = Callable[[str], None]
Transform = Callable[[list[str]], list[str]]

_USER = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' "
    "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = {oid} AND d.deptype = 'e')"
)
_MACHINERY = f"c.relname NOT IN ('{VERSION_TABLE}', '{CHECKSUM_TABLE}')"
# What the squash's downgrade drops, in this order, each with CASCADE: whatever depends on it
# was created by the squash too.
_DROPS: tuple[tuple[str, str], ...] = (
    (
        "MATERIALIZED VIEW",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON "
        f"n.oid = c.relnamespace WHERE c.relkind = 'm' AND {_USER.format(oid='c.oid')}",
    ),
    (
        "VIEW",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON "
        f"n.oid = c.relnamespace WHERE c.relkind = 'v' AND {_USER.format(oid='c.oid')}",
    ),
    (
        "TABLE",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON "
        "n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
        f"AND {_MACHINERY} AND {_USER.format(oid='c.oid')}",
    ),
    (
        "SEQUENCE",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON "
        f"n.oid = c.relnamespace WHERE c.relkind = 'S' AND {_USER.format(oid='c.oid')} "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid "
        "AND d.deptype IN ('a', 'i'))",
    ),
    (
        "ROUTINE",
        "SELECT format('%I.%I(%s)', n.nspname, p.proname, "
        "pg_get_function_identity_arguments(p.oid)) FROM pg_proc p JOIN pg_namespace n ON "
        f"n.oid = p.pronamespace WHERE p.prokind IN ('f', 'p') AND {_USER.format(oid='p.oid')}",
    ),
    (
        "DOMAIN",
        "SELECT format('%I.%I', n.nspname, t.typname) FROM pg_type t JOIN pg_namespace n ON "
        f"n.oid = t.typnamespace WHERE t.typtype = 'd' AND {_USER.format(oid='t.oid')}",
    ),
    (
        "TYPE",
        "SELECT format('%I.%I', n.nspname, t.typname) FROM pg_type t JOIN pg_namespace n ON "
        "n.oid = t.typnamespace WHERE (t.typtype IN ('e', 'r') OR (t.typtype = 'c' AND "
        "(SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')) "
        f"AND {_USER.format(oid='t.oid')}",
    ),
    (
        "EXTENSION",
        "SELECT format('%I', extname) FROM pg_extension WHERE extname <> 'plpgsql'",
    ),
    (
        "SCHEMA",
        "SELECT format('%I', n.nspname) FROM pg_namespace n WHERE n.nspname <> 'public' "
        f"AND {_USER.format(oid='n.oid')}",
    ),
)
_TABLES_WITH_ROWS = (
    "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON "
    "n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
    f"AND {_MACHINERY} AND {_USER.format(oid='c.oid')} ORDER BY 1"
)

FILE = '''"""squash of {count} revisions: base to {rev}

Revision ID: {rev}
Revises:
Create Date: {created}

Written by `make migration-squash rev={rev}`: the revisions in `replaces` became this one,
proven to build the same schema, catalog for catalog. A database at {rev} or later goes on
upgrading; one at a revision before it is refused, naming this squash.
"""

# ruff: noqa: E501
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "{rev}"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
# The revisions this one replaces, oldest first (read by migration_toolkit.schema.squash).
replaces: tuple[str, ...] = ({replaces})

# pg_dump --schema-only of the database the replaced revisions built, one statement each.
SCHEMA: tuple[str, ...] = ({schema})

# What upgrade() creates, dropped (CASCADE takes indexes, constraints and owned sequences).
DROPS: tuple[str, ...] = ({drops})


def _sql(statement: str) -> sa.TextClause:
    # The statements are SQL as written: a colon is never a bind parameter.
    return sa.text(statement.replace(":", "\\\\:"))


def upgrade() -> None:
    for statement in SCHEMA:
        op.execute(_sql(statement))


def downgrade() -> None:
    for statement in DROPS:
        op.execute(_sql(statement))
'''


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _chain(script: ScriptDirectory, rev: str) -> list[Script]:
    """base..rev, oldest first; refused unless it is one straight line nothing branches from."""
    try:
        target = script.get_revision(rev)
    except CommandError:
        target = None
    if target is None:
        raise UserFacingError(
            f"rev={rev} names no revision (or more than one): `make migration-history` lists them"
        )
    chain = list(reversed(list(script.iterate_revisions(target.revision, "base"))))
    if len(chain) < 2:
        raise UserFacingError(
            f"rev={target.revision} is the first revision: there is nothing to squash into it"
        )
    members = {revision.revision for revision in chain}
    for revision in chain:
        if revision.is_merge_point or revision.dependencies:
            raise UserFacingError(
                f"revision {revision.revision} in base..{target.revision} merges branches or "
                "depends on another: squash only a straight line (choose a rev before it)"
            )
    for revision in script.walk_revisions():
        if revision.revision in members:
            continue
        parents = set(diagrams.parents(revision))
        inner = parents & (members - {target.revision})
        if inner:
            raise UserFacingError(
                f"revision {revision.revision} branches off {', '.join(sorted(inner))}, inside "
                f"base..{target.revision}: squash only up to the branch point"
            )
    return chain


def _literal(statement: str) -> str:
    if '"""' not in statement and "\\" not in statement and not statement.endswith('"'):
        return '"""' + statement + '"""'
    return repr(statement)


def _tuple(items: Sequence[str], literal: Callable[[str], str]) -> str:
    return "".join(f"\n    {literal(item)}," for item in items) + "\n"


def render(
    rev: str, replaces: Sequence[str], schema: Sequence[str], drops: Sequence[str], when: datetime
) -> str:
    return FILE.format(
        count=len(replaces),
        rev=rev,
        created=when.isoformat(sep=" ", timespec="seconds"),
        replaces=_tuple(replaces, repr),
        schema=_tuple(schema, _literal),
        drops=_tuple(drops, repr),
    )


def _file_name(script: ScriptDirectory, rev: str, count: int, when: datetime) -> str:
    slug = f"squash_{count}_revisions"
    return (
        script.file_template
        % {
            "rev": rev,
            "slug": slug,
            "epoch": int(when.timestamp()),
            "year": when.year,
            "month": when.month,
            "day": when.day,
            "hour": when.hour,
            "minute": when.minute,
            "second": when.second,
        }
        + ".py"
    )


def _drops(connection: Connection) -> list[str]:
    found = []
    for kind, query in _DROPS:
        names = list(connection.scalars(text(query)))
        if names:
            found.append(f"DROP {kind} IF EXISTS {', '.join(sorted(names))} CASCADE")
    idle(connection)
    return found


def _rows(connection: Connection) -> list[str]:
    tables = list(connection.scalars(text(_TABLES_WITH_ROWS)))
    filled = [
        table for table in tables if connection.scalar(text(f"SELECT EXISTS (SELECT FROM {table})"))
    ]
    idle(connection)
    return filled


def _take(connection: Connection) -> catalog.Snapshot:
    taken = catalog.take(connection)
    idle(connection)
    return taken


def _old_chain(url: URL, rev: str) -> tuple[catalog.Snapshot, list[str], list[str], str]:
    """Build base..rev the old way: its catalog, its statements, its drops, filled tables."""

    def work(connection: Connection) -> tuple[catalog.Snapshot, list[str], list[str]]:
        command.upgrade(config_for(connection), rev)
        idle(connection)
        return _take(connection), _drops(connection), _rows(connection)

    taken, drops, filled = run_on(url, work)
    return taken, drops, filled, dump.dump(url)


def _to_head(url: URL, config_of: Callable[[Connection], Config]) -> catalog.Snapshot:
    def work(connection: Connection) -> catalog.Snapshot:
        command.upgrade(config_of(connection), "heads")
        idle(connection)
        return _take(connection)

    return run_on(url, work)


def _new_chain(
    url: URL, rev: str, versions: Path
) -> tuple[catalog.Snapshot, catalog.Snapshot, catalog.Snapshot, catalog.Snapshot]:
    """Build with the squash (versions/ as it will be): empty, at rev, after its downgrade, at
    head."""

    def config_of(connection: Connection) -> Config:
        config = config_for(connection)
        config.set_main_option("version_locations", str(versions))
        return config

    def work(connection: Connection) -> tuple[catalog.Snapshot, ...]:
        empty = _take(connection)
        command.upgrade(config_of(connection), rev)
        idle(connection)
        at_rev = _take(connection)
        command.downgrade(config_of(connection), "base")
        idle(connection)
        after_downgrade = _take(connection)
        command.upgrade(config_of(connection), "heads")
        idle(connection)
        return empty, at_rev, after_downgrade, _take(connection)

    empty, at_rev, after_downgrade, at_head = run_on(url, work)
    return empty, at_rev, after_downgrade, at_head


def squash(rev: str, *, say: Say = _say, transform: Transform | None = None) -> Path:
    """Replace base..rev with one revision once proven; transform (tests) alters its SQL."""
    project = current_project()
    script = ScriptDirectory.from_config(config_for())
    chain = _chain(script, rev)
    target = chain[-1]
    replaces: list[str] = []
    for revision in chain:
        replaces.extend(item for item in replaced_by(revision) if item not in replaces)
        if revision.revision not in replaces:
            replaces.append(revision.revision)
    say(f"squashing {len(chain)} revisions, base to {target.revision}: building both ways")
    when = datetime.now(UTC).replace(microsecond=0)
    name = _file_name(script, target.revision, len(replaces), when)
    members = {revision.revision for revision in chain}
    with (
        throwaway.databases(2, say, major=dump.pg_dump_major()) as (old_url, new_url),
        tempfile.TemporaryDirectory(prefix="squash-") as tmp,
    ):
        at_rev, drops, filled, old_dump = _old_chain(old_url, target.revision)
        if filled:
            raise UserFacingError(
                f"base..{target.revision} leaves rows in {', '.join(filled)}: a squash keeps "
                "the schema, not rows; move that data into a revision after it, then squash"
            )
        old_head = _to_head(old_url, config_for)
        kept = [
            statement
            for statement in statements.split(old_dump)
            if not statement.upper().startswith(("SET ", "SELECT PG_CATALOG.SET_CONFIG"))
        ]
        if transform is not None:
            kept = transform(kept)
        # versions/ as it will be, in a folder of its own: the squash and what follows it.
        versions = Path(tmp) / "versions"
        versions.mkdir()
        # ruff formats the candidate with the project's settings, as it would in versions/.
        shutil.copy(project.root / "pyproject.toml", Path(tmp) / "pyproject.toml")
        for revision in script.walk_revisions():
            if revision.revision not in members and revision.path is not None:
                shutil.copy(revision.path, versions / Path(revision.path).name)
        candidate = versions / name
        candidate.write_text(render(target.revision, replaces, kept, drops, when))
        why = file_problem(candidate)
        if why is not None:
            raise UserFacingError(f"the squashed revision cannot be written: {why}")
        content = candidate.read_text()
        empty, new_rev, undone, new_head = _new_chain(new_url, target.revision, versions)
        _prove(
            [
                (
                    f"the squashed revision builds a different schema at {target.revision}",
                    catalog.differences(at_rev, new_rev),
                ),
                (
                    "the squashed revision's downgrade does not leave an empty database",
                    catalog.differences(empty, undone),
                ),
                (
                    "the revisions after the squash build a different schema at head",
                    catalog.differences(old_head, new_head),
                ),
                (
                    "pg_dump of the schema at head differs",
                    _dump_diff(dump.dump(old_url), dump.dump(new_url)),
                ),
            ],
            say,
        )
    for revision in chain:
        assert revision.path is not None
        Path(revision.path).unlink()
    assert target.path is not None
    written = Path(target.path).parent / name
    written.write_text(content)
    say(
        f"wrote {schema_file.shown(written, project)}: {len(replaces)} revisions replaced by one "
        f"({catalog.summary(at_rev)}); proven: same catalog at {target.revision} and at head"
    )
    schema_file.write(diagrams.current(), project.schema_docs, say)
    say(
        f"every database must be at {target.revision} or later before this is deployed: one "
        "at an earlier revision is refused, naming the squash"
    )
    return written


def _prove(checks: Sequence[tuple[str, list[str]]], say: Say) -> None:
    for what, differences in checks:
        if differences:
            for line in differences:
                say(f"  {line}")
            raise UserFacingError(
                f"{what} (differences above): the squash is refused, nothing was written"
            )


def _dump_diff(old: str, new: str) -> list[str]:
    return list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm=""))[:40]
