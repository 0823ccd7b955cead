"""A migration toolkit for Alembic on PostgreSQL, configured, never importing the project.

env.py calls migration_toolkit.environment; the Makefile runs `alembic ...` for Alembic's own
commands and `python -m migration_toolkit ...` for the checks. See docs/architecture.md.
"""
