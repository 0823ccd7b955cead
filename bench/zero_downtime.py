"""Benchmark 1: the same schema change on a 1,000,000-row table under load, naive vs helpers.

The service runs under uvicorn on 127.0.0.1, bench/load.py sends ~200 requests/s to the books
endpoints from a process of its own, and `make migrate` applies one revision meanwhile.
"""

import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from bench.common import VERSIONS, Project, head_of, pg, scratch, server, table, write_report

BOOKS = 1_000_000
AUTHORS = 1_000
# requests/s; BENCH_RATE overrides it on a machine that cannot serve 200/s at all
RATE = int(os.environ.get("BENCH_RATE", "200"))
BATCH = 5_000  # rows per backfill transaction
# seconds between batches: the backfill's share of the CPU the service also needs
PAUSE = float(os.environ.get("BENCH_PAUSE", "0.2"))
WARMUP = 5.0  # seconds of load before the migration starts: the baseline
COOLDOWN = 3.0  # seconds of load after it ends

REVISION = '''"""bench: {name}

Revision ID: {revision}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

from migration_toolkit import online

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}


def downgrade() -> None:
    op.drop_column("book", "sort_key")
    op.drop_column("book", "ref")
    op.drop_index("ix_book_title", table_name="book")
'''

# The change: a uuid column with a volatile default, a NOT NULL column filled from title, an
# index on title. Both versions take the strongest lock first: the naive one deadlocked with
# the app's PATCH requests when it built the index (SHARE lock) before the ALTERs.
NAIVE = """\
    op.add_column(
        "book",
        sa.Column("ref", sa.Uuid(), nullable=False, server_default=sa.text("gen_random_uuid()")),
    )
    op.add_column("book", sa.Column("sort_key", sa.String(255), nullable=False, server_default=""))
    op.execute("UPDATE book SET sort_key = lower(title)")
    op.create_index("ix_book_title", "book", ["title"])"""

# add_column_with_default() once per column would backfill twice; one pass fills both.
HELPERS = """\
    op.add_column("book", sa.Column("ref", sa.Uuid(), nullable=True))
    op.add_column("book", sa.Column("sort_key", sa.String(255), nullable=True))
    op.alter_column("book", "ref", server_default=sa.text("gen_random_uuid()"))
    op.alter_column("book", "sort_key", server_default="")
    online.backfill(
        "book",
        "ref = coalesce(ref, gen_random_uuid()), sort_key = coalesce(sort_key, lower(title))",
        where="ref IS NULL OR sort_key IS NULL",
        batch_size=BATCH,
        pause=PAUSE,
    )
    online.set_not_null("book", "ref")
    online.set_not_null("book", "sort_key")
    online.create_index_concurrently("ix_book_title", "book", ["title"])"""

SCENARIOS = {"naive": NAIVE, "helpers": HELPERS}


@dataclass
class Outcome:
    name: str
    requests: int
    failed: int
    p50: float
    p99: float
    worst: float
    stall: float
    migration: float
    baseline_p99: float
    baseline_failed: int
    migrated: bool


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def longest_stall(samples: list[dict[str, float]], start: float, end: float) -> float:
    """The longest time no request was answered, between start and end."""
    answered = sorted(s["sent"] + s["latency"] for s in samples if 200 <= s["status"] < 300)
    points = [start] + [t for t in answered if start <= t <= end] + [end]
    return max(b - a for a, b in itertools.pairwise(points))


def seed(folder: Path, found: pg.Server) -> Project:
    """A database at head with AUTHORS authors and BOOKS books: the template for each run."""
    project = scratch(folder, found, "seed")
    result = project.make("migrate")
    if result.returncode != 0:
        raise RuntimeError(f"seed migrate failed:\n{result.output}")
    pg.execute(
        project.database_url,
        f"INSERT INTO author (name) SELECT 'author ' || i FROM generate_series(1, {AUTHORS}) i",
        f"INSERT INTO book (title, author_id) SELECT 'Book ' || md5(i::text), 1 + i % {AUTHORS} "
        f"FROM generate_series(1, {BOOKS}) i",
        "VACUUM ANALYZE",
    )
    return project


def start_service(project: Project, port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    env = project.environment() | {"DB_POOL_SIZE": "10"}
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=project.root,
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return service
        except httpx.HTTPError:
            time.sleep(0.2)
    service.terminate()
    raise RuntimeError("the service did not answer within 60 s")


def run_scenario(folder: Path, found: pg.Server, template: Project, name: str) -> Outcome:
    project = scratch(folder, found, name)
    pg.execute(found.url, f'DROP DATABASE "{project.database_url.database}"')
    pg.execute(
        found.url,
        f'CREATE DATABASE "{project.database_url.database}" '
        f'TEMPLATE "{template.database_url.database}"',
    )
    down = head_of(project)
    revision = f"bench{name:0>7}"[:12]
    code = SCENARIOS[name].replace("BATCH", f"{BATCH:_}").replace("PAUSE", str(PAUSE))
    body = REVISION.format(name=name, revision=revision, down=down, body=code)
    (project.root / VERSIONS / f"2099_01_01_0000-bench_{name}-{revision}.py").write_text(body)

    port = pg.free_port()
    service_log = (folder / f"{name}-service.log").open("wb")
    service = start_service(project, port, service_log)
    samples_file = folder / f"{name}.jsonl"
    load = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.load",
            "--base",
            f"http://127.0.0.1:{port}",
            "--rate",
            str(RATE),
            "--seconds",
            "300",
            "--books",
            str(BOOKS),
            "--authors",
            str(AUTHORS),
            "--out",
            str(samples_file),
        ],
        env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        load_started = time.time()
        time.sleep(WARMUP)
        started = time.time()
        result = project.make("migrate", timeout=600)
        finished = time.time()
        time.sleep(COOLDOWN)
    finally:
        for process in (load, service):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    service_log.close()
    print(result.stderr, file=sys.stderr)
    errors = (folder / f"{name}-service.log").read_text(errors="replace").count("Traceback")
    print(
        f"{name}: migrate exit {result.returncode}, {errors} tracebacks in the service log",
        file=sys.stderr,
    )
    samples = [json.loads(line) for line in samples_file.read_text().splitlines()]
    during = [s for s in samples if started <= s["sent"] <= finished]
    before = [s for s in samples if load_started + 1 <= s["sent"] < started]
    latencies = [s["latency"] for s in during]
    url = project.database_url
    migrated = result.returncode == 0 and pg.version(url) == [revision]
    pg.drop_database(found, url)
    return Outcome(
        name=name,
        requests=len(during),
        failed=sum(1 for s in during if not 200 <= s["status"] < 300),
        p50=percentile(latencies, 0.50),
        p99=percentile(latencies, 0.99),
        worst=max(latencies, default=0.0),
        stall=longest_stall(samples, started, finished),
        migration=finished - started,
        baseline_p99=percentile([s["latency"] for s in before], 0.99),
        baseline_failed=sum(1 for s in before if not 200 <= s["status"] < 300),
        migrated=migrated,
    )


def verdict(outcome: Outcome) -> str:
    met = outcome.failed == 0 and outcome.p99 <= 0.100 and outcome.stall <= 1.0
    return "met" if met else "NOT met"


def overload_note(outcomes: list[Outcome]) -> list[str]:
    """The figures mean nothing when the service could not keep up before the migration."""
    overloaded = [o.name for o in outcomes if o.baseline_failed or o.baseline_p99 > 0.100]
    if not overloaded:
        return []
    return [
        f"**Caution**: before the migration started ({', '.join(overloaded)}) the service "
        f"already missed the target at {RATE} requests/s (p99 before above 100 ms or failed "
        "requests): the machine was saturated (other processes, or too few cores for service, "
        "Postgres and load together), so these figures show overload, not the migration. "
        "Re-run on a quiet machine, or with a lower rate: `BENCH_RATE=100 make bench which=load`.",
        "",
    ]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}"


def report(outcomes: list[Outcome], seconds: float) -> str:
    rows = [
        [
            o.name,
            o.requests,
            o.failed,
            ms(o.p50),
            ms(o.p99),
            ms(o.worst),
            ms(o.stall),
            f"{o.migration:.1f}",
            ms(o.baseline_p99),
            "yes" if o.migrated else "NO",
        ]
        for o in outcomes
    ]
    helpers = next((o for o in outcomes if o.name == "helpers"), None)
    return "\n".join(
        [
            "# Zero downtime under load",
            "",
            f"`book` with {BOOKS:,} rows, the service under uvicorn (one worker, 127.0.0.1), "
            f"{RATE} requests/s from bench/load.py (60% GET one book, 15% list by author, "
            "15% POST, 10% PATCH; open loop, 5 s client timeout). Figures cover the requests "
            "sent while `make migrate` ran; latency in ms from the scheduled send time.",
            "",
            table(
                [
                    "change",
                    "requests",
                    "failed",
                    "p50",
                    "p99",
                    "max",
                    "longest stall",
                    "migration s",
                    "p99 before",
                    "applied",
                ],
                rows,
            ),
            "",
            "The two revisions' `upgrade()` (same change, same order):",
            "",
            "```python",
            "# naive: one transaction; the first ALTER rewrites the table under ACCESS EXCLUSIVE",
            NAIVE,
            "",
            "# helpers",
            HELPERS.replace("BATCH", f"{BATCH:_}").replace("PAUSE", str(PAUSE)),
            "```",
            "",
            f"Target for helpers (0 failed, p99 <= 100 ms, no stall > 1 s): "
            f"**{verdict(helpers) if helpers else 'not run'}**.",
            "",
            *overload_note(outcomes),
            "",
            f"Run took {seconds:.0f} s. Re-run: `make bench` (or `uv run python -m bench load`).",
            "",
        ]
    )


def main() -> str:
    began = time.monotonic()
    with server() as found, tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        folder = Path(tmp)
        print(f"seeding {BOOKS:,} books ...", file=sys.stderr, flush=True)
        template = seed(folder, found)
        outcomes = []
        for name in SCENARIOS:
            print(f"scenario {name} ...", file=sys.stderr, flush=True)
            outcomes.append(run_scenario(folder, found, template, name))
        pg.drop_database(found, template.database_url)
    text = report(outcomes, time.monotonic() - began)
    write_report("zero_downtime.md" if RATE == 200 else f"zero_downtime_{RATE}rps.md", text)
    return text


if __name__ == "__main__":
    print(main())
