"""A database's full contents as text: the proof that a command left it unchanged."""

import subprocess

from sqlalchemy.engine import URL

from tests.support import pg


def dump_fingerprint(url: URL, pg_dump: str, env: dict[str, str]) -> str:
    """pg_dump of schema and rows, plus alembic_version and the checksum table's rows.

    pg_dump 17.6+ writes a random `\\restrict` key into every plain dump: those lines differ
    between any two dumps, so they are left out.
    """
    dump = subprocess.run([pg_dump, "--no-owner"], env=env, capture_output=True, check=True)
    lines = [
        line
        for line in dump.stdout.decode().splitlines()
        if not line.startswith(("\\restrict ", "\\unrestrict "))
    ]
    versions = pg.fetch(url, "SELECT version_num FROM alembic_version ORDER BY 1")
    sums = pg.fetch(url, "SELECT revision, checksum, filename FROM alembic_checksum ORDER BY 1")
    return "\n".join(
        [*lines, repr([tuple(row) for row in versions]), repr([tuple(row) for row in sums])]
    )
