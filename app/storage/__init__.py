"""Everything that talks to Postgres: the engine, sessions and the migration machinery."""
