"""The process_revision_directives hook: empty check, rename questions, destructive flags."""

import sys
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext

from migration_toolkit.autogen import destructive, enums, renames, schemas, write_hook
from migration_toolkit.autogen.answers import EXAMPLE, Answers, ask_terminal, parse_renames
from migration_toolkit.autogen.empty import is_empty
from migration_toolkit.errors import UserFacingError

# config.attributes key: Python callers may hand in their own Answers.
ANSWERS = "rename_answers"


def _answers(context: MigrationContext) -> Answers:
    given = context.config.attributes.get(ANSWERS) if context.config is not None else None
    if isinstance(given, Answers):
        return given
    from alembic import context as alembic_context

    from migration_toolkit.run.options import run_options

    renames_given = parse_renames(run_options(alembic_context).rename)
    return Answers(given=renames_given, ask=ask_terminal if sys.stdin.isatty() else None)


def docstring_safe(message: str | None) -> str | None:
    """The message as the revision's docstring shows it: data, never code.

    The template writes it between triple quotes; a backslash or a quote could end the
    docstring or start an escape, so each is escaped and the text reads back unchanged.
    """
    if message is None:
        return None
    return message.replace("\\", "\\\\").replace('"', '\\"')


def _metadata(context: MigrationContext) -> sa.MetaData | None:
    target = context.opts.get("target_metadata")
    if isinstance(target, sa.MetaData):
        return target
    if isinstance(target, Iterable):
        metadatas = list(target)
        if len(metadatas) == 1 and isinstance(metadatas[0], sa.MetaData):
            return metadatas[0]  # its naming convention names the constraints
        merged = sa.MetaData()
        for metadata in metadatas:
            for table in metadata.tables.values():
                table.to_metadata(merged)
        return merged
    return None


def _report(context: MigrationContext, warnings: list[str]) -> None:
    write_hook.REVIEW.extend(warnings)


def _refuse_unregistered(metadata: sa.MetaData | None) -> None:
    """A table the comparison could not see would be left out of the revision without a word."""
    from migration_toolkit.checks.registry import unregistered_tables
    from migration_toolkit.environment import project

    problems = unregistered_tables(project().models, metadata)
    if problems:
        raise UserFacingError(problems[0])


def process_revision_directives(
    context: MigrationContext,
    revision: str | Iterable[str | None] | Iterable[str],
    directives: list[Any],
) -> None:
    """Write nothing for no change; ask about renames; flag what can destroy data."""
    from migration_toolkit.environment import is_autogenerate

    for directive in directives:
        if isinstance(directive, ops.MigrationScript):
            directive.message = docstring_safe(directive.message)
    if not directives or not is_autogenerate(context):
        return
    script = directives[0]
    if not isinstance(script, ops.MigrationScript):
        return
    _refuse_unregistered(_metadata(context))
    answers = _answers(context)
    if not is_empty(script):
        renames.apply(script, answers, context.bind, _metadata(context))
    if unused := answers.unused():
        listed = ", ".join(str(rename) for rename in unused)
        raise UserFacingError(
            f"rename {listed} matches no dropped and added column or table in the models: "
            f"check the names, e.g. {EXAMPLE}"
        )
    if is_empty(script):
        directives[:] = []
        print("No changes detected")
        return
    schemas.create_missing(script, context.bind)
    enums.rebuild_dependent_indexes(script, context.bind)
    _report(context, destructive.flag(script))
