"""Helpers the tests share: a real Postgres, databases on it, scratch copies of the project."""
