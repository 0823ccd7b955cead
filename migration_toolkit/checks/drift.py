"""`make migration-check`: the models and the migrations describe the same schema.

Fails, naming what differs, on: more than one head; a table model not on the migrations'
MetaData; an applied revision edited since (the configured database's checksum ledger, read
only; with base=<git ref>, also a revision file changed since that ref); any difference
autogenerate finds between the models and a throwaway database migrated to head. A table the
migrations create that no model declares is such a difference: every table has a model.
"""

import importlib
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import asyncpg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Column, MetaData, Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from migration_toolkit.checks.connection import config_for, idle, run_on
from migration_toolkit.checks.registry import unregistered_tables
from migration_toolkit.config import current_project
from migration_toolkit.errors import UserFacingError
from migration_toolkit.local import throwaway
from migration_toolkit.local.postgres import server_answers
from migration_toolkit.run import bookkeeping, checksums
from migration_toolkit.urls import describe, is_local


def _name(item: Any) -> str:
    table = getattr(item, "table", None)
    owner = f"{table.name}." if isinstance(table, Table) else ""
    return f"{owner}{getattr(item, 'name', None) or item}"


def describe_diff(diff: Any) -> str:
    """One readable line for one autogenerate difference."""
    if isinstance(diff, list):
        diff = diff[0]
    kind = diff[0]
    if kind == "add_table":
        return f"table {diff[1].name}: in the models, not in the migrations"
    if kind == "remove_table":
        return f"table {diff[1].name}: created by the migrations, no model declares it"
    if kind in {"add_column", "remove_column"}:
        column: Column[Any] = diff[3]
        where = (
            "in the models, not in the migrations"
            if kind == "add_column"
            else "in the migrations, not in the models"
        )
        return f"column {diff[2]}.{column.name}: {where}"
    if kind in {"modify_type", "modify_nullable", "modify_default", "modify_comment"}:
        _, _, table, column_name, _, migrations, models = diff
        what = kind.removeprefix("modify_")
        return f"column {table}.{column_name} {what}: migrations {migrations}, models {models}"
    if kind in {"add_index", "add_constraint", "add_fk"}:
        return f"{kind.removeprefix('add_')} {_name(diff[1])}: in the models, not in the migrations"
    if kind in {"remove_index", "remove_constraint", "remove_fk"}:
        label = kind.removeprefix("remove_")
        return f"{label} {_name(diff[1])}: in the migrations, not in the models"
    return repr(diff)


def _compare(connection: Connection) -> list[Any]:
    """Upgrade to head, then compare, both through env.py (its options, hooks and plugins)."""
    config = config_for(connection)
    command.upgrade(config, "heads")
    idle(connection)
    script = ScriptDirectory.from_config(config)
    found: list[Any] = []

    metadata = models_metadata()

    def compare(_rev: Any, context: MigrationContext) -> list[Any]:
        found.extend(compare_metadata(context, metadata))
        return []

    with EnvironmentContext(config, script, fn=compare, as_sql=False):
        script.run_env()
    idle(connection)
    return found


def models_metadata() -> MetaData:
    """The MetaData of the configured models package (its `metadata`), one line if broken."""
    from migration_toolkit.environment import load_models

    package = current_project().models

    def load() -> MetaData:
        metadata = getattr(importlib.import_module(package), "metadata", None)
        if not isinstance(metadata, MetaData):
            raise UserFacingError(
                f"{package} has no `metadata` (a sqlalchemy MetaData): export the models' "
                f"MetaData there, or fix [tool.migration_toolkit] models"
            )
        return metadata

    return load_models(load)


def heads_problem() -> str | None:
    heads = ScriptDirectory.from_config(config_for()).get_heads()
    if len(heads) > 1:
        return (
            f"more than one head ({', '.join(sorted(heads))}): run `make migration-merge` "
            "to join them into one"
        )
    return None


def edited_applied_revisions(say: Callable[[str], None]) -> list[str]:
    """Revisions edited since they were applied to the configured database (read only: its
    checksum ledger is compared with the files, nothing is written)."""
    try:
        url = current_project().url()
    except (UserFacingError, ValueError):
        return []
    where = describe(url)
    if is_local(url) and not server_answers(url.host or "127.0.0.1", url.port or 5432):
        say(f"applied-revision checksums: nothing answers at {where}; not compared")
        return []

    def read(connection: Connection) -> tuple[checksums.DatabaseState, list[tuple[str, str]]]:
        return checksums.read_state(connection), bookkeeping.writers(connection)

    try:
        state, writers = run_on(url, read, connect_timeout=3)
    except (OSError, DBAPIError, asyncpg.PostgresError):
        say(f"applied-revision checksums: cannot read {where}; not compared")
        return []
    for relation, role in writers:
        say(
            f"warning: role {role} may write {relation} on {where}: only the migrations' role "
            f"should (`make migrate` revokes it; or REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON "
            f"{relation} FROM {role})"
        )
    script = ScriptDirectory.from_config(config_for())
    try:
        checksums.verify(script, state, accept=(), where=where)
    except checksums.EditedRevisionError as exc:
        return [str(exc)]
    except UserFacingError as exc:
        # The database is at a revision of another branch: `make migrate` explains that one.
        say(f"applied-revision checksums: {exc}")
    return []


def changed_since(base: str | None) -> list[str]:
    """Revision files changed or deleted since a git ref, where they are merged already."""
    if not base:
        return []
    try:
        if ScriptDirectory.from_config(config_for()).get_revision(base) is not None:
            return []  # a revision id, as lint's base= takes: no git history to compare with
    except CommandError:
        pass
    root = current_project().root
    versions = ScriptDirectory.from_config(config_for()).versions
    listed = subprocess.run(
        ["git", "diff", "--name-status", "--no-renames", base, "--", versions],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        raise UserFacingError(
            f"base={base} is not a git ref here: use a branch such as origin/main, or leave it out"
        )
    problems = []
    for line in listed.stdout.splitlines():
        status, _, path = line.partition("\t")
        if status in {"M", "D"} and path.endswith(".py"):
            verb = "edited" if status == "M" else "deleted"
            problems.append(
                f"{path} was {verb} but {base} has it already (applied revisions do not change): "
                "restore it and put the change in a new revision (`make migration msg=...`)"
            )
    return problems


def check(base: str | None = None, say: Callable[[str], None] | None = None) -> None:
    out = say or (lambda line: print(line, file=sys.stderr))
    problems: list[str] = []
    heads = heads_problem()
    if heads:
        problems.append(heads)
    models_metadata()
    problems.extend(unregistered_tables(current_project().models))
    problems.extend(changed_since(base))
    problems.extend(edited_applied_revisions(out))
    with throwaway.database(out) as url:
        diffs = run_on(url, _compare)
    if diffs:
        for diff in diffs:
            out(f"  {describe_diff(diff)}")
        problems.append(
            f"the models and the migrations differ ({len(diffs)} difference"
            f'{"s" * (len(diffs) != 1)} above): run `make migration msg="..."` to write '
            "the revision, or undo the model change"
        )
    if len(problems) == 1:
        raise UserFacingError(problems[0])
    if problems:
        for problem in problems:
            out(f"- {problem}")
        raise UserFacingError(f"migration-check found {len(problems)} problems, listed above")
    print("migration-check: models and migrations agree; one head; every table model registered")
