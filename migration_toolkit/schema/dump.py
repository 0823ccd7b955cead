"""pg_dump --schema-only of one database, normalised so that it is byte-stable.

Normalised: no owners, no privileges, no version banner, no \\restrict key (random on every
run), no settings an older server would refuse (transaction_timeout is Postgres 17+), and the
migration machinery's own tables left out. pg_dump orders objects by kind and name, so the
rest is stable as long as the server's major version is the same: the snapshot is always
dumped from a server of pg_dump's own major version (throwaway.database(major=...)).
"""

import re
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

from migration_toolkit.errors import UserFacingError
from migration_toolkit.local.postgres import postgres_bin_dir
from migration_toolkit.revisions import VERSION_TABLE
from migration_toolkit.run.checksums import CHECKSUM_TABLE

# Lines that differ between runs or machines, or that only newer servers understand.
_DROPPED = re.compile(
    r"^(\\restrict |\\unrestrict |-- Dumped from |-- Dumped by |SET transaction_timeout )"
)
# pg_dump's own opening and closing banners.
_BANNERS = ("-- PostgreSQL database dump", "-- PostgreSQL database dump complete")


def binary(name: str) -> Path:
    """pg_dump or psql from the server binaries the project uses."""
    return postgres_bin_dir() / name


def pg_dump_major() -> int:
    """The major version of our pg_dump (18 for `pg_dump (PostgreSQL) 18.1`)."""
    result = subprocess.run(
        [str(binary("pg_dump")), "--version"], capture_output=True, text=True, check=False
    )
    found = re.search(r"(\d+)(?:\.\d+)?", result.stdout)
    if result.returncode != 0 or found is None:
        raise UserFacingError(f"cannot run {binary('pg_dump')}: reinstall with `make install`")
    return int(found.group(1))


def libpq_env(url: URL) -> dict[str, str]:
    """How psql and pg_dump are told where to connect (the password never on a command line)."""
    return {
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
        "PGPASSWORD": url.password or "",
        "PGDATABASE": url.database or "postgres",
        "PGCONNECT_TIMEOUT": "10",
        "PATH": "/usr/bin:/bin",
    }


def dump(url: URL) -> str:
    """The normalised schema of the database at url."""
    excluded = [f"--exclude-table={table}" for table in (VERSION_TABLE, CHECKSUM_TABLE)]
    result = subprocess.run(
        [
            str(binary("pg_dump")),
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--no-tablespaces",
            *excluded,
        ],
        env=libpq_env(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserFacingError(f"pg_dump of the throwaway database failed: {last}")
    return normalise(result.stdout)


def normalise(text: str) -> str:
    """pg_dump's output without what varies between runs, machines and versions."""
    lines = [line.rstrip() for line in text.splitlines() if not _DROPPED.match(line)]
    kept: list[str] = []
    for index, line in enumerate(lines):
        # A banner is `--`, the banner line, `--`: drop all three.
        if line in _BANNERS:
            continue
        if line == "--" and (
            (index + 1 < len(lines) and lines[index + 1] in _BANNERS)
            or (index > 0 and lines[index - 1] in _BANNERS)
        ):
            continue
        kept.append(line)
    body = "\n".join(kept)
    body = re.sub(r"\n{3,}", "\n\n", body).strip("\n")
    return body + "\n"
