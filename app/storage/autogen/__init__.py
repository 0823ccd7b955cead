"""Autogenerate hooks: what `make migration` writes, before the template renders it."""

from collections.abc import Iterable
from typing import Any

from alembic.operations import ops
from alembic.runtime.migration import MigrationContext


def is_autogenerate(context: MigrationContext) -> bool:
    """True for `revision --autogenerate`, from the command line or from Python."""
    config = context.config
    from_cli = getattr(config.cmd_opts, "autogenerate", None) if config is not None else None
    if from_cli is not None:
        return bool(from_cli)
    # command.revision() runs env.py with a callback naming which kind of run it is.
    callback = context.opts.get("fn")
    code = getattr(callback, "__code__", None)
    return code is not None and "run_autogenerate" in code.co_names


def process_revision_directives(
    context: MigrationContext,
    revision: str | Iterable[str | None] | Iterable[str],
    directives: list[Any],
) -> None:
    """Write nothing when autogenerate finds no change (Alembic cookbook)."""
    if not directives or not is_autogenerate(context):
        return
    script = directives[0]
    if isinstance(script, ops.MigrationScript) and all(
        upgrade.is_empty() for upgrade in script.upgrade_ops_list
    ):
        directives[:] = []
        print("No changes detected")
