"""Bookshelf: a FastAPI service whose schema changes only through Alembic migrations."""
