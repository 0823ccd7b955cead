"""Autogenerate hooks: what `make migration` writes, before the template renders it.

env.py passes `process_revision_directives` and `render_item` to context.configure(); the
post-write hook `migration_toolkit` (write_hook.py) keeps a file only if it is sound.
"""

# Imported for its effect: Postgres enum types are created, dropped and extended.
import alembic_postgresql_enum  # noqa: F401

from migration_toolkit.autogen.directives import process_revision_directives
from migration_toolkit.autogen.render import render_item

__all__ = ["process_revision_directives", "render_item"]
