"""The schema a reviewer can see: the committed snapshot (pg_dump, normalised), test databases
loaded from it, its diagrams, and squashing the history with proof.

    dump.py       pg_dump --schema-only of a database, normalised to be byte-stable
    snapshot.py   build the snapshot from the revisions; write it; check the committed one
    load.py       a database from the snapshot, stamped at its head (tests, bench)
    diagrams.py   docs/schema.md: the models' ER diagram and the revision graph (Mermaid)
    statements.py split SQL into statements (quotes, dollar quotes and comments respected)
    squash.py     `make migration-squash`: base..rev as one revision, proven equal
"""
