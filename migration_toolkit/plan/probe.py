"""Rates of this server, from a small timed probe or from the last rehearsal.

The probe builds a temporary table of REFERENCE_ROWS rows (session-local, in a transaction
that is rolled back: the database is not changed) and times a scan, a rewrite, two index
builds and an update on it. A role that may not create temporary tables, or a read-only
standby, gets the reference machine's rates instead, and the report says so.

A rehearsal measures the real statements on a copy of the real tables; its rates are kept in
the project's .local/plan-rates.json, per server, and used by the next plan instead.
"""

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from migration_toolkit.plan.estimate import REFERENCE_ROWS, Rates

UPDATED_ROWS = REFERENCE_ROWS // 5
# Measured on the reference machine (2 cores, Postgres 18, bench/results/plan.md).
DEFAULT = Rates(
    scan_bytes_per_s=1.5e9,
    rewrite_bytes_per_s=4e7,
    index_row_s_text=1.2e-6,
    index_row_s_other=4e-7,
    update_row_s=8e-6,
)
STORE = "plan-rates.json"


async def _timed(connection: asyncpg.Connection, sql: str) -> float:
    started = time.perf_counter()
    await connection.execute(sql)
    return max(time.perf_counter() - started, 1e-6)


async def probe(connection: asyncpg.Connection) -> Rates:
    """Time the kinds of work on a temporary table; nothing outlives the transaction."""
    started = time.perf_counter()
    transaction = connection.transaction()
    await transaction.start()
    try:
        await connection.execute(
            "CREATE TEMPORARY TABLE migration_toolkit_probe ON COMMIT DROP AS "
            "SELECT g AS id, g % 1000 AS n, 'probe ' || md5(g::text) AS t "
            f"FROM generate_series(1, {REFERENCE_ROWS}) AS g"
        )
        heap = await connection.fetchval("SELECT pg_relation_size('migration_toolkit_probe')")
        scan = min(
            [
                await _timed(
                    connection, "SELECT count(*) FROM migration_toolkit_probe WHERE t IS NULL"
                )
                for _ in range(3)
            ]
        )
        rewrite = await _timed(
            connection, "ALTER TABLE migration_toolkit_probe ALTER COLUMN n TYPE bigint"
        )
        other = await _timed(connection, "CREATE INDEX ON migration_toolkit_probe (n)")
        text = await _timed(connection, "CREATE INDEX ON migration_toolkit_probe (t)")
        update = await _timed(
            connection,
            f"UPDATE migration_toolkit_probe SET n = n + 1 WHERE id <= {UPDATED_ROWS}",
        )
    finally:
        await transaction.rollback()
    took = time.perf_counter() - started
    return Rates(
        scan_bytes_per_s=heap / scan,
        rewrite_bytes_per_s=heap / rewrite,
        index_row_s_text=text / REFERENCE_ROWS,
        index_row_s_other=other / REFERENCE_ROWS,
        update_row_s=update / UPDATED_ROWS,
        source=f"a {took:.1f} s probe on this server",
    )


async def probe_or_default(connection: asyncpg.Connection) -> Rates:
    try:
        return await probe(connection)
    except (asyncpg.InsufficientPrivilegeError, asyncpg.ReadOnlySQLTransactionError) as exc:
        fallback = Rates(**{**DEFAULT.as_dict(), "source": ""})  # type: ignore[arg-type]
        fallback.source = f"the reference machine's (no probe here: {exc})"
        return fallback


def server_key(host: str | None, port: int | None, version: int) -> str:
    return f"{host or 'localhost'}:{port or 5432} (server {version})"


def stored(folder: Path, key: str) -> Rates | None:
    """The last rehearsal's rates for this server, if there was one."""
    path = folder / STORE
    try:
        data = json.loads(path.read_text())
        entry = data[key]
        return Rates.from_dict(entry)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(folder: Path, key: str, rates: Rates) -> Path:
    path = folder / STORE
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    entry = rates.as_dict()
    entry["source"] = f"the rehearsal of {when} on this server"
    data[key] = entry
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path
