"""No empty revisions: an autogenerate run that finds nothing writes nothing."""

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


def is_empty(script: ops.MigrationScript) -> bool:
    return all(upgrade.is_empty() for upgrade in script.upgrade_ops_list)
