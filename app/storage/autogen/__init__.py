"""Autogenerate hooks: what `make migration` writes, before the template renders it.

env.py passes `process_revision_directives` and `render_item` to context.configure().
"""

# Imported for its effect: Postgres enum types are created, dropped and extended.
import alembic_postgresql_enum  # noqa: F401

from app.storage.autogen.directives import process_revision_directives
from app.storage.autogen.empty import is_autogenerate
from app.storage.autogen.render import render_item

__all__ = ["is_autogenerate", "process_revision_directives", "render_item"]
