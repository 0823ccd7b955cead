"""Nothing runs twice, nothing is half-applied, whatever dies: a longer run of the kill tests.

python -m bench chaos [--trials N]   (`make bench which=chaos`)

Each trial takes a fresh database at the project's head and two hand-written revisions (the
first logs itself and sleeps, the second logs itself), then breaks a `make migrate` at a random
moment in one of four ways: SIGKILL of the client, pg_terminate_backend of the session holding
the migration lock, a restart of the Postgres server (when the benchmark started it), or eight
runs at once. Then it checks the database: every revision in alembic_version has its table and
exactly one log row, none other has either; and a plain `make migrate` afterwards finishes at
head with each revision logged exactly once. The report counts trials and survivors per kind.
"""

import os
import random
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy.engine import URL

from bench.common import Project, head_of, pg, scratch, server, table, write_report
from tests.storage.safety_support import write_revision

KINDS = ("sigkill", "terminate", "restart", "concurrent")
R1, R2 = "c4a050000001", "c4a050000002"


def _prepare(project: Project) -> None:
    base = head_of(project)
    write_revision(
        project,
        R1,
        base,
        """
        op.execute("CREATE TABLE chaos_one (id int)")
        op.execute("INSERT INTO chaos_log VALUES ('c4a050000001')")
        op.execute("SELECT pg_sleep(1.5)")
        """,
        "op.execute('DROP TABLE chaos_one')",
    )
    write_revision(
        project,
        R2,
        R1,
        """
        op.execute("CREATE TABLE chaos_two (id int)")
        op.execute("INSERT INTO chaos_log VALUES ('c4a050000002')")
        """,
        "op.execute('DROP TABLE chaos_two')",
    )


def _start(project: Project) -> "subprocess.Popen[bytes]":
    return subprocess.Popen(
        ["make", "--no-print-directory", "migrate"],
        cwd=project.root,
        env=project.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _consistent(url: URL) -> bool:
    """alembic_version, the tables and the log agree: nothing half-applied, nothing twice."""
    applied = set(pg.version(url))
    tables = pg.tables(url)
    logged = Counter(row["revision"] for row in pg.fetch(url, "SELECT revision FROM chaos_log"))
    expected = {R1} if R1 in applied else set()
    if R2 in applied:
        expected = {R1, R2}
    has = {R1: "chaos_one" in tables, R2: "chaos_two" in tables}
    return (
        all(count == 1 for count in logged.values())
        and set(logged) == expected
        and all(has[rev] == (rev in expected) for rev in (R1, R2))
    )


def _lock_holder(url: URL) -> int | None:
    rows = pg.fetch(
        url,
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    return int(rows[0]["pid"]) if rows else None


def trial(kind: str, project: Project, found: pg.Server, rng: random.Random) -> bool:
    url = project.database_url
    pg.execute(url, "CREATE TABLE IF NOT EXISTS chaos_log (revision text NOT NULL)")
    delay = rng.uniform(0.3, 2.5)
    if kind == "concurrent":
        runs = [_start(project) for _ in range(8)]
        for run in runs:
            run.wait(timeout=120)
    else:
        run = _start(project)
        time.sleep(delay)
        if kind == "sigkill":
            os.killpg(run.pid, signal.SIGKILL)
        elif kind == "terminate":
            holder = _lock_holder(url)
            if holder is not None:
                pg.fetch(url, "SELECT pg_terminate_backend($1)", holder)
        elif kind == "restart" and found.own_cluster is not None:
            found.own_cluster.stop()
            found.own_cluster.start()
        run.wait(timeout=120)
    time.sleep(0.5)  # a killed client's session ends on the server's next check
    survived = _consistent(url)
    again = project.make("migrate")
    return survived and again.returncode == 0 and _consistent(url) and pg.version(url) == [R2]


def main(trials: int = 10) -> str:
    rng = random.Random(20261130)
    counts: dict[str, list[int]] = {kind: [0, 0] for kind in KINDS}
    started = time.monotonic()
    with server() as found, tempfile.TemporaryDirectory(prefix="bench-chaos-") as folder:
        template = scratch(Path(folder), found, "chaos")
        _prepare(template)
        base = head_of_base(template)
        for number in range(trials):
            for kind in KINDS:
                if kind == "restart" and found.own_cluster is None:
                    continue
                project = Project(
                    root=template.root,
                    database_url=pg.create_database(found, prefix=f"chaos{number}"),
                )
                assert project.make("migrate", f"rev={base}").returncode == 0
                counts[kind][0] += 1
                counts[kind][1] += trial(kind, project, found, rng)
                pg.drop_database(found, project.database_url)
    rows = [[kind, ran, ok, ran - ok] for kind, (ran, ok) in counts.items() if ran]
    report = "\n".join(
        [
            "# Chaos: kills, terminations, restarts and concurrent runs",
            "",
            (__doc__ or "").split("\n\n", 1)[1].strip(),
            "",
            table(["kind", "trials", "survived", "broken"], rows),
            "",
            f"Run took {time.monotonic() - started:.0f} s. Re-run: `make bench which=chaos` "
            f"(`BENCH_TRIALS=N` for more).",
            "",
        ]
    )
    write_report("chaos.md", report)
    return report


def head_of_base(project: Project) -> str:
    """The project's own head: the revision before the two chaos revisions."""
    from alembic.script import ScriptDirectory

    from migration_toolkit.revisions import alembic_config

    script = ScriptDirectory.from_config(alembic_config(project.root / "alembic.ini"))
    found = script.get_revision(R1)
    assert found is not None and isinstance(found.down_revision, str)
    return found.down_revision


if __name__ == "__main__":
    print(main(int(os.environ.get("BENCH_TRIALS", "10"))))
