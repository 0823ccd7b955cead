"""No empty revisions: an autogenerate run that finds nothing writes nothing."""

from alembic.operations import ops


def is_empty(script: ops.MigrationScript) -> bool:
    return all(upgrade.is_empty() for upgrade in script.upgrade_ops_list)
