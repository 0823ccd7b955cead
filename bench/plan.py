"""Benchmark 3: `make migration-plan`'s estimates against what `make migration-rehearse` measures.

`book` gets 1,000,000 rows; each case is one revision after the first, planned (rates from a
fresh probe, as on a server never rehearsed) and rehearsed on a copy (a template clone).
The source database is compared before and after (pg_dump, alembic_version, the checksums).
"""

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from bench.common import VERSIONS, Project, copy_project, pg, server, table, write_report
from migration_toolkit.plan import command, rehearse
from migration_toolkit.plan.copy import client, libpq_env
from migration_toolkit.plan.estimate import duration
from migration_toolkit.plan.report import Measured, Plan, RevisionResult
from tests.support.dump import dump_fingerprint

BOOKS = int(os.environ.get("BENCH_BOOKS", "1000000"))
FIRST = "8ef2faae17b8"
REVISION = "b0000000000{n}"
TEMPLATE = '''"""{name}

Revision ID: {rev}
Revises: {down}
"""

import sqlalchemy as sa
from alembic import op

from migration_toolkit import online

revision = "{rev}"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    {upgrade}


def downgrade() -> None:
    {downgrade}
'''


@dataclass(frozen=True)
class Case:
    name: str
    upgrade: str
    downgrade: str
    expect: str  # the criterion, as the issue says it


CASES = [
    Case(
        "plain create_index",
        'op.create_index("ix_book_title", "book", ["title"])',
        'op.drop_index("ix_book_title", table_name="book")',
        "planned as blocking writes, for a duration within 2x of the measured one",
    ),
    Case(
        "online.create_index_concurrently",
        'online.create_index_concurrently("ix_book_title", "book", ["title"])',
        'online.drop_index_concurrently("ix_book_title", "book")',
        "planned and measured as blocking no writes",
    ),
    Case(
        "ALTER COLUMN TYPE int -> bigint",
        'op.alter_column("book", "id", type_=sa.BigInteger())',
        'op.alter_column("book", "id", type_=sa.Integer())',
        "planned as a rewrite under ACCESS EXCLUSIVE",
    ),
    Case(
        "ADD COLUMN nullable, no default",
        'op.add_column("book", sa.Column("subtitle", sa.String(200), nullable=True))',
        'op.drop_column("book", "subtitle")',
        "planned as instant (catalog only)",
    ),
    Case(
        "downgrade narrows title to varchar(20)",
        'op.alter_column("book", "title", type_=sa.String(400))',
        'op.alter_column("book", "title", type_=sa.String(20))',
        "the rehearsal reports the downgrade failing on the real rows",
    ),
]


@dataclass
class Outcome:
    case: Case
    plan: Plan
    measured: list[Measured | None]
    results: list[RevisionResult]
    plan_seconds: float
    rehearse_seconds: float


def seed(project: Project) -> None:
    url = project.database_url
    migrated = project.make("migrate", f"rev={FIRST}", timeout=600)
    assert migrated.returncode == 0, migrated.output
    pg.execute(
        url,
        "INSERT INTO author (name) SELECT 'Author ' || g FROM generate_series(1, 1000) g",
        "ALTER TABLE book DROP CONSTRAINT fk_book_author_id_author",
        f"INSERT INTO book (title, author_id) SELECT 'Book ' || md5(g::text), 1 + g % 1000 "
        f"FROM generate_series(1, {BOOKS}) g",
        "ALTER TABLE book ADD CONSTRAINT fk_book_author_id_author FOREIGN KEY (author_id) "
        "REFERENCES author (id)",
        "VACUUM ANALYZE",
    )


def fingerprint(url: URL) -> str:
    """Everything a dump shows of the database (schema and rows), plus the bookkeeping."""
    return dump_fingerprint(url, client("pg_dump"), libpq_env(url))


def run_case(project: Project, number: int, case: Case) -> Outcome:
    path = (
        project.root
        / VERSIONS
        / f"2099_01_01_000{number}-bench_case-{REVISION.format(n=number)}.py"
    )
    path.write_text(
        TEMPLATE.format(
            name=case.name,
            rev=REVISION.format(n=number),
            down=FIRST,
            upgrade=case.upgrade,
            downgrade=case.downgrade,
        )
    )
    try:
        options = command.Options(threshold=1.0, traffic=0, fresh_probe=True)
        started = time.monotonic()
        plan = command.plan_for(options, project.database_url)
        planned = time.monotonic() - started
        started = time.monotonic()
        found = rehearse.rehearse(options, url=project.database_url, say=lambda _: None)
        rehearsed = time.monotonic() - started
    finally:
        path.unlink()
    return Outcome(case, plan, found.measured, found.outcome.results, planned, rehearsed)


def _check(outcome: Outcome) -> tuple[str, bool]:
    estimate = outcome.plan.estimates[0] if outcome.plan.estimates else None
    seen = outcome.measured[0] if outcome.measured else None
    if estimate is None or seen is None:
        return "no statement", False
    name = outcome.case.name
    planned_block = max((b.seconds for b in estimate.blocking), default=0.0)
    measured_block = max(seen.blocked_writes.values(), default=0.0)
    locks = estimate.analysis.strongest()
    if name.startswith("plain"):
        ratio = planned_block / measured_block if measured_block else float("inf")
        ok = bool(estimate.blocking) and 0.5 <= ratio <= 2.0
        return f"planned/measured blocked writes = {ratio:.2f}", ok
    if name.startswith("online"):
        ok = not estimate.blocking and not seen.blocked_writes
        return (
            f"planned blocks: {len(estimate.blocking)}, measured: {seen.blocked_writes or 'none'}",
            ok,
        )
    if name.startswith("ALTER"):
        kind = estimate.analysis.work_kind.value
        mode = locks.get("book")
        ok = kind == "rewrite" and mode is not None and mode.label == "ACCESS EXCLUSIVE"
        return f"planned: {kind} under {mode.label if mode else '?'}", ok
    if name.startswith("ADD"):
        kind = estimate.analysis.work_kind.value
        return f"planned: {kind}, {duration(estimate.seconds)}", kind == "catalog only"
    result = outcome.results[0]
    return f"downgrade: {result.down_error or 'ok'}", result.down_error is not None


def report(outcomes: list[Outcome], unchanged: bool, took: float) -> str:
    rows = []
    for outcome in outcomes:
        estimate = outcome.plan.estimates[0]
        seen = outcome.measured[0] or Measured()
        planned_block = max((b.seconds for b in estimate.blocking), default=None)
        verdict, ok = _check(outcome)
        rows.append(
            [
                outcome.case.name,
                "; ".join(f"{t}: {m.label}" for t, m in estimate.analysis.strongest().items()),
                estimate.analysis.work_kind.value,
                duration(estimate.seconds),
                duration(planned_block) if planned_block is not None else "none",
                duration(seen.seconds),
                "; ".join(f"{t}: {m}" for t, m in sorted(seen.locks.items())) or "none seen",
                "; ".join(f"{t} {duration(s)}" for t, s in sorted(seen.blocked_writes.items()))
                or "none",
                f"{'met' if ok else 'NOT MET'}: {verdict}",
            ]
        )
    header = [
        "case",
        "planned locks",
        "planned work",
        "est.",
        "planned blocked writes",
        "measured",
        "locks seen",
        "measured blocked writes",
        "criterion",
    ]
    first = outcomes[0].plan
    lines = [
        "# Plan vs rehearsal",
        "",
        f"`book` with {BOOKS:,} rows (plus `author`, 1,000 rows); each case is one revision after "
        f"{FIRST}. Estimates from {first.rates.source} (a fresh probe per case), "
        "measured on a template clone by `make migration-rehearse`'s machinery. "
        f"Whole run: {took:.0f} s.",
        "",
        table(header, rows),
        "",
        "Criteria (issue 13): "
        + "; ".join(f"{o.case.name}: {o.case.expect}" for o in outcomes)
        + ".",
        "",
        f"Source database unchanged by plan and rehearse (pg_dump of schema and rows, "
        "alembic_version, alembic_checksum compared before and after): "
        f"{'yes' if unchanged else 'NO'}.",
        "",
        f"Load average when the run began: {LOAD[0]:.1f} (the reference machine has 2 cores, "
        "shared with other jobs: timings move between runs; the fresh probe of each case and "
        "the rehearsal of the same case meet about the same load).",
        "",
        "Plan and rehearsal times per case (s): "
        + ", ".join(f"{o.plan_seconds:.1f} / {o.rehearse_seconds:.1f}" for o in outcomes),
        "",
    ]
    return "\n".join(lines)


LOAD: list[float] = [0.0]


def main() -> str:
    LOAD[0] = os.getloadavg()[0]
    began = time.monotonic()
    with server() as found, tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        root = copy_project(Path(tmp) / "project")
        for path in (root / VERSIONS).glob("*.py"):
            if FIRST not in path.name:
                path.unlink()
        project = Project(root=root, database_url=pg.create_database(found, prefix="bench_plan"))
        print(f"seeding {BOOKS:,} books ...", file=sys.stderr, flush=True)
        seed(project)
        before = fingerprint(project.database_url)
        previous = os.environ.get("MIGRATION_TOOLKIT_ROOT")
        os.environ["MIGRATION_TOOLKIT_ROOT"] = str(root)
        try:
            outcomes = []
            for number, case in enumerate(CASES, start=1):
                print(f"case {case.name} ...", file=sys.stderr, flush=True)
                outcomes.append(run_case(project, number, case))
        finally:
            if previous is None:
                os.environ.pop("MIGRATION_TOOLKIT_ROOT", None)
            else:
                os.environ["MIGRATION_TOOLKIT_ROOT"] = previous
        unchanged = fingerprint(project.database_url) == before
        pg.drop_database(found, project.database_url)
    text = report(outcomes, unchanged, time.monotonic() - began)
    write_report("plan.md", text)
    return text


if __name__ == "__main__":
    print(main())
