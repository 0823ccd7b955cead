"""The process_revision_directives hook: empty check, rename questions, destructive flags."""

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext

from app.storage.autogen import destructive, renames
from app.storage.autogen.answers import EXAMPLE, Answers
from app.storage.autogen.empty import is_autogenerate, is_empty
from app.storage.errors import UserFacingError

# config.attributes keys: the CLI hands answers in and reads the review warnings out.
ANSWERS = "rename_answers"
REVIEW = "review_warnings"


def _answers(context: MigrationContext) -> Answers:
    given = context.config.attributes.get(ANSWERS) if context.config is not None else None
    return given if isinstance(given, Answers) else Answers.default()


def _metadata(context: MigrationContext) -> sa.MetaData | None:
    target = context.opts.get("target_metadata")
    if isinstance(target, sa.MetaData):
        return target
    if isinstance(target, Iterable):
        merged = sa.MetaData()
        for metadata in target:
            for table in metadata.tables.values():
                table.to_metadata(merged)
        return merged
    return None


def _report(context: MigrationContext, warnings: list[str]) -> None:
    if context.config is not None:
        context.config.attributes.setdefault(REVIEW, []).extend(warnings)
    else:
        for warning in warnings:
            print(f"warning: {warning}")


def process_revision_directives(
    context: MigrationContext,
    revision: str | Iterable[str | None] | Iterable[str],
    directives: list[Any],
) -> None:
    """Write nothing for no change; ask about renames; flag what can destroy data."""
    if not directives or not is_autogenerate(context):
        return
    script = directives[0]
    if not isinstance(script, ops.MigrationScript):
        return
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
    _report(context, destructive.flag(script))
